import Foundation
import Synchronization
import Testing

@testable import DistributedImaging

/// What the server tells the client about entries it skips and about its own receipt.
@Suite("Server reporting")
struct ServerReportingTests {
    static let nodes = [NodeConfiguration(name: "n1", policy: .mandatory, load: 0, delay: 0.001)]

    @Test("A receipt.json that cannot be written is reported in the final event and receipt")
    func receiptWriteFailure() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 2, into: "\(root)/in")
            // A directory where the receipt goes: every write of the file fails, also as root.
            try FileManager.default.createDirectory(atPath: "\(root)/in-out/receipt.json", withIntermediateDirectories: true)
            let cluster = try LocalCluster(storageRoot: root, nodes: Self.nodes, seed: 1)
            let log = EventRecorder()
            let receipt = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert")) { log.append($0) }
            #expect(receipt.counts.succeeded == 2)
            #expect(receipt.message.contains("the receipt could not be written to 'in-out/receipt.json'"), "\(receipt.message)")
            guard case .finished(let streamed) = log.events.last else {
                Issue.record("no finished event: \(log.events)")
                return
            }
            #expect(streamed.message == receipt.message)
        }
    }

    @Test("A written receipt adds no warning")
    func receiptWritten() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 1, into: "\(root)/in")
            let cluster = try LocalCluster(storageRoot: root, nodes: Self.nodes, seed: 1)
            let receipt = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert"))
            #expect(!receipt.message.contains("warning"), "\(receipt.message)")
        }
    }

    @Test("A symbolic link to a directory is skipped as such, recursive or not", arguments: [false, true])
    func symlinkedDirectory(recursive: Bool) async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 1, into: "\(root)/in")
            try TestImages.writePNGs(count: 1, into: "\(root)/other")
            try FileManager.default.createDirectory(atPath: "\(root)/in/sub", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: "\(root)/in/link", withDestinationPath: "../other")
            let cluster = try LocalCluster(storageRoot: root, nodes: Self.nodes, seed: 1)
            let receipt = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert", recursive: recursive))
            let link = try #require(receipt.tasks.first { $0.input == "in/link" })
            #expect(link.status == .skipped)
            #expect(link.error == "symbolic link to a directory: not followed")
            if !recursive {
                let sub = try #require(receipt.tasks.first { $0.input == "in/sub" })
                #expect(sub.error == "a directory; submit with recursive to descend")
            }
        }
    }
}

/// Collects events in order.
final class EventRecorder: Sendable {
    private let storage = Mutex<[JobEvent]>([])
    var events: [JobEvent] { self.storage.withLock { $0 } }
    func append(_ event: JobEvent) { self.storage.withLock { $0.append(event) } }
}
