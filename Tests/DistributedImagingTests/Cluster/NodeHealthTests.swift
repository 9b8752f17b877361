import Foundation
import Testing

@testable import DistributedImaging

/// Liveness as the server sees it, and the sweep of orphaned temporary files.
@Suite("Node health and orphan sweep")
struct NodeHealthTests {
    @Test("A node that stopped answering is skipped until retryAfter passes or it answers")
    func suspectNodesAreSkipped() {
        let time = ManualTime()
        let health = NodeHealth(retryAfter: .milliseconds(200), now: time.read)
        let nodes = [NodeID("a"), NodeID("b"), NodeID("c")]
        #expect(health.available(among: nodes) == [0, 1, 2])
        health.markUnreachable(NodeID("b"))
        #expect(health.isSuspect(NodeID("b")))
        #expect(health.available(among: nodes) == [0, 2])
        health.markAlive(NodeID("b"))
        #expect(health.available(among: nodes) == [0, 1, 2])
        health.markUnreachable(NodeID("c"))
        time.advance(by: .milliseconds(199))
        #expect(health.isSuspect(NodeID("c")), "still skipped just before retryAfter")
        #expect(health.available(among: nodes) == [0, 1])
        time.advance(by: .milliseconds(1))
        #expect(!health.isSuspect(NodeID("c")))
        #expect(health.available(among: nodes) == [0, 1, 2], "back once retryAfter passed")
        for node in nodes { health.markUnreachable(node) }
        #expect(health.available(among: nodes) == [0, 1, 2], "all suspect: every node is a probe")
    }

    @Test("A server shares what it learnt: after one job, a dead node gets no more placements")
    func deadNodeIsLeftAlone() async throws {
        try await withTemporaryDirectory { root in
            try FileManager.default.createDirectory(atPath: "\(root)/in", withIntermediateDirectories: true)
            for index in 0..<40 { try TestImages.write(text: "x", to: "\(root)/in/\(index).png") }
            let storage = try SharedStorage(root: root)
            let faults = try FaultInjectingTransport(seed: 3)
            faults.cutOff(NodeID("down"))
            let up = ScriptedConnection.accepting("up")
            let health = NodeHealth(retryAfter: .seconds(60))
            let server = try ImagingServer(
                configuration: .init(maxConcurrentTasks: 1, seed: 3), storage: storage,
                nodes: faults.wrap([ScriptedConnection.accepting("down"), up]), health: health, logger: silentLogger)
            let receipt = try await server.submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
            #expect(receipt.status == .succeeded)
            #expect(faults.statistics(for: NodeID("down")).calls == 1, "one lost attempt, then the node is skipped")
            #expect(faults.statistics(for: NodeID("up")).calls == 40)
        }
    }

    @Test("The job's end sweeps orphaned temporary files from the output directory, and only those")
    func orphansAreSwept() async throws {
        try await withTemporaryDirectory { root in
            let storage = try SharedStorage(root: root)
            try storage.write([1, 2, 3], to: "out/sub/a.png")
            try TestImages.write(text: "x", to: "\(root)/out/.a.png.123-4-xyz.tmp")
            try TestImages.write(text: "x", to: "\(root)/out/sub/.b.png.9-9-q.tmp")
            try TestImages.write(text: "x", to: "\(root)/out/keep.tmp")
            #expect(storage.sweepTemporaryFiles(in: "out") == 2)
            #expect(try storage.read("out/sub/a.png") == [1, 2, 3])
            #expect(try storage.exists("out/keep.tmp"))
            #expect(storage.sweepTemporaryFiles(in: "missing") == 0)
        }
    }
}
