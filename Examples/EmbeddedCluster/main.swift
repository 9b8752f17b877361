// A server and four nodes in this process, processing a directory of images.
//
//     swift run EmbeddedCluster /path/to/photos
//
// Outputs go to the sibling directory `photos-out`; the storage root is the parent directory.
import DistributedImaging
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    print("usage: EmbeddedCluster INPUT_DIR")
    exit(2)
}
let input = URL(fileURLWithPath: arguments[1]).standardizedFileURL

let cluster = try LocalCluster(
    storageRoot: input.deletingLastPathComponent().path,
    nodes: [
        .init(name: "busy", policy: .optional, load: 0.8, delay: 0.2),
        .init(name: "half", policy: .optional, load: 0.5, delay: 0.2),
        .init(name: "idle", policy: .optional, load: 0.1, delay: 0.2),
        .init(name: "steady", policy: .mandatory, load: 0.3, delay: 0.2),
    ],
    seed: 42)

let receipt = try await cluster.submit(JobRequest(inputDirectory: input.path, pipeline: "invert")) { event in
    if case .rejected(_, let path, let node, let attempt, _) = event {
        print("  \(node) rejected \(path) (attempt \(attempt))")
    }
}
for task in receipt.tasks {
    print("\(task.status): \(task.input) → \(task.output ?? "-") on \(task.node?.description ?? "-")")
}
print(receipt.message)
exit(receipt.status == .succeeded ? 0 : 1)
