// A client of a remote dip-server: submits one job over gRPC and prints its progress.
//
//     swift run RemoteClient 127.0.0.1:7000 photos [PIPELINE]
//
// `photos` is a directory relative to the server's storage root (or absolute inside it);
// outputs go to `photos-out` beside it.
import DistributedImaging
import DistributedImagingGRPC
import Foundation

let arguments = CommandLine.arguments
guard (3...4).contains(arguments.count) else {
    print("usage: RemoteClient HOST:PORT INPUT_DIR [PIPELINE]")
    exit(2)
}
let server = try PeerAddress(parsing: arguments[1], key: "HOST:PORT")
let request = JobRequest(inputDirectory: arguments[2], pipeline: arguments.count == 4 ? arguments[3] : "invert")

let status = try await HealthClient.status(of: server)
print("server \(server): DistributedImaging \(status.softwareVersion), \(status.nodes.count) nodes")

let receipt = try await GRPCJobSubmitter.withSubmitter(server: server) { submitter in
    try await submitter.submit(request) { event in
        switch event {
        case .started(let jobID, let tasks, _): print("job \(jobID): \(tasks) tasks")
        case .completed(let task): print("  \(task.status) \(task.input) on \(task.node?.description ?? "-")")
        case .placed, .rejected, .finished: break
        }
    }
}
print("\(receipt.status): \(receipt.message)")
exit(receipt.status == .succeeded ? 0 : 1)
