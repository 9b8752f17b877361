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

// The job's events as an AsyncSequence, folded into a JobProgress for a line per second.
let receipt = try await GRPCJobSubmitter.withSubmitter(server: server) { submitter in
    try await submitter.withEvents(for: request) { events in
        let clock = ContinuousClock()
        let origin = clock.now
        func now() -> Double { Double((clock.now - origin).components.attoseconds) / 1e18 + Double((clock.now - origin).components.seconds) }
        var progress = JobProgress()
        var lastLine = -1.0
        for try await event in events {
            progress.record(event, at: now())
            if case .completed(let task) = event, task.status == .failed { print("  \(task)") }
            if now() - lastLine >= 1 || progress.isFinished {
                print(progress.line(at: now()))
                lastLine = now()
            }
        }
    }
}
print("\(receipt.status): \(receipt.message)")
exit(receipt.status == .succeeded ? 0 : 1)
