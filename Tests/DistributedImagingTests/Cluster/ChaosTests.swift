import Foundation
import Testing

@testable import DistributedImaging

/// A deployment's configuration chaos-tested in one process: real nodes behind in-process
/// connections wrapped by a `FaultInjectingTransport`.
@Suite("Chaos: a job over a faulty transport", .timeLimit(.minutes(1)))
struct ChaosTests {
    @Test("Drops, delays, duplicates, reordering and lost answers: every task still ends, each output is whole")
    func jobSurvivesFaults() async throws {
        try await withTemporaryDirectory { root in
            let names = try TestImages.writePNGs(count: 60, into: "\(root)/in", size: 6)
            let storage = try SharedStorage(root: root)
            let nodes = InProcessTransport()
            for index in 1...3 {
                nodes.register(
                    try ImagingNode(
                        configuration: .init(name: "node-\(index)", policy: .optional, load: 0.2, delay: 0, seed: UInt64(index)),
                        storage: storage, logger: silentLogger))
            }
            let faults = try FaultInjectingTransport(
                seed: 42,
                faults: .init(
                    drop: 0.15, delay: 0.2, delays: .milliseconds(1) ... .milliseconds(3), duplicate: 0.15, reorder: 0.15,
                    holdLimit: .milliseconds(20), loseAnswer: 0.1))
            let server = try ImagingServer(
                configuration: .init(maxAttempts: 40, maxConcurrentTasks: 8, seed: 42), storage: storage,
                nodes: faults.wrap(nodes.connections()), health: NodeHealth(retryAfter: .milliseconds(5)), logger: silentLogger)

            let receipt = try await server.submit(JobRequest(inputDirectory: "in", pipeline: "invert"))

            #expect(receipt.status == .succeeded, "\(receipt.message)")
            #expect(receipt.counts.succeeded == 60)
            let injected = faults.statistics
            #expect(injected.dropped > 0 && injected.delayed > 0 && injected.duplicated > 0, "\(injected)")
            #expect(injected.reordered > 0 && injected.lostAnswers > 0, "\(injected)")
            // Every call that failed unavailable is a lost attempt in the receipt, with its reason.
            let lost = receipt.tasks.flatMap(\.lostAttempts)
            #expect(lost.count == injected.dropped + injected.lostAnswers + injected.refused)
            #expect(lost.allSatisfy { $0.contains("fault injection") })
            // Tasks that ran twice (duplicated, or placed again after a lost answer) still leave
            // one complete output each.
            let pipeline = try Pipeline(parsing: "invert")
            for name in names {
                let input = try ImageCodec.default.decode(contentsOf: "\(root)/in/\(name)")
                let expected = try ImageCodec.default.encode(try pipeline.apply(to: input), as: .png)
                let actual = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(root)/in-out/\(name)")))
                #expect(actual == expected, "\(name)")
            }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: "\(root)/in-out").filter { $0.hasSuffix(".tmp") }
            #expect(leftovers.isEmpty)
        }
    }

    @Test("A node cut off gets no task; restored, it takes tasks again")
    func nodeCutOffAndRestored() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 30, into: "\(root)/in")
            let storage = try SharedStorage(root: root)
            let nodes = InProcessTransport()
            for name in ["a", "b"] {
                nodes.register(try ImagingNode(configuration: .init(name: name, delay: 0), storage: storage, logger: silentLogger))
            }
            let faults = try FaultInjectingTransport(seed: 7)
            let server = try ImagingServer(
                configuration: .init(maxConcurrentTasks: 4, seed: 7), storage: storage, nodes: faults.wrap(nodes.connections()),
                health: NodeHealth(retryAfter: .milliseconds(1)), logger: silentLogger)
            faults.cutOff(NodeID("b"))
            let first = try await server.submit(JobRequest(inputDirectory: "in", outputDirectory: "first", pipeline: "identity"))
            #expect(first.status == .succeeded)
            #expect(first.tasks.allSatisfy { $0.node == NodeID("a") })
            #expect(faults.statistics(for: NodeID("b")).refused > 0, "the job tried the node cut off")

            faults.restore(NodeID("b"))
            let second = try await server.submit(JobRequest(inputDirectory: "in", outputDirectory: "second", pipeline: "identity"))
            #expect(second.status == .succeeded)
            #expect(second.tasks.contains { $0.node == NodeID("b") }, "the restored node takes tasks again")
        }
    }
}
