import DistributedImaging
import DistributedImagingGRPC
import Foundation
import Testing

/// Issue #11: several clients interrupted at once while their jobs are busy. The server cancels
/// hundreds of `RunTask` calls to its nodes together; it must stay up and keep answering.
@Suite("Cancelling busy jobs at once (real executables)", .serialized, .timeLimit(.minutes(2)))
struct CancellationStressTests {
    static let clients = 6
    static let images = 1500
    static let rounds = 2

    @Test("SIGINT to six clients of busy jobs at once: the server survives and answers status")
    func manyClientsInterrupted() async throws {
        try await withFaultCluster { cluster in
            let server = try await cluster.startServer(["--log-level", "info"])
            // Every accepted task waits 20 ms, eight at a time per node: the jobs stay busy, and
            // each job keeps its 64 calls in flight, so hundreds of RunTask streams are open.
            for name in ["node-1", "node-2"] {
                try await cluster.startNode(name, ["--load", "1", "--delay", "0.02", "--max-concurrent", "8"])
            }
            try await cluster.waitForNodes(2)
            try Self.makeTinyImages(Self.images, in: cluster.root.appendingPathComponent("in"))
            try Self.makeTinyImages(40, in: cluster.root.appendingPathComponent("small"))
            let serverProcess = try #require(cluster.server)

            for round in 0..<Self.rounds {
                var clients: [ManagedProcess] = []
                for index in 0..<Self.clients {
                    clients.append(
                        try cluster.startClient(
                            ["submit", "--server", "\(server)", "--pipeline", "invert", "--force", "--quiet",
                             "--output", "out-\(round)-\(index)", "in"],
                            name: "client-\(round)-\(index)"))
                }
                // Busy: every job has written outputs (so its tasks are in flight on the nodes).
                try await ManagedProcess.waitUntil(timeout: .seconds(20)) {
                    (0..<Self.clients).allSatisfy { index in
                        let out = cluster.root.appendingPathComponent("out-\(round)-\(index)").path
                        return ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).count >= 2
                    } || clients.contains { !$0.process.isRunning }
                }
                try #require(clients.allSatisfy { $0.process.isRunning }, "a client finished before it was interrupted")
                for client in clients { client.signal(SIGINT) }
                for client in clients { _ = try await client.waitForExit(timeout: .seconds(15)) }

                // The cancellations really reached the server: every job ended cancelled. (A
                // crashing debug build prints "Assertion failed", then backtraces for a while.)
                func crashed() -> Bool {
                    let errors = serverProcess.errors
                    return !serverProcess.process.isRunning || errors.contains("Assertion failed") || errors.contains("Fatal error")
                }
                try await ManagedProcess.waitUntil(timeout: .seconds(15)) {
                    serverProcess.errors.components(separatedBy: "status=cancelled").count - 1 >= (round + 1) * Self.clients
                        || crashed()
                }
                try #require(!crashed(), "dip-server crashed: \(serverProcess.errors.suffix(3000))")
                let status = try await HealthClient.status(of: server)
                #expect(status.role == .server)
                #expect(status.nodes.count == 2)
            }
            // And it still runs a job to the end.
            let after = try await runToCompletion(
                "dip-client", ["submit", "--server", "\(server)", "--pipeline", "invert", "--output", "out-after", "--json", "small"],
                logDirectory: cluster.logs, name: "client-after")
            #expect(after.status == 0, "\(after.errors)")
        }
    }

    /// Writes `count` distinct 8×8 PNGs into `directory`.
    static func makeTinyImages(_ count: Int, in directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for index in 0..<count {
            var pixels = [UInt8](repeating: 0, count: 8 * 8 * 3)
            for offset in pixels.indices { pixels[offset] = UInt8(truncatingIfNeeded: offset * 7 + index) }
            let image = try Image(width: 8, height: 8, channels: 3, pixels: pixels)
            try Data(ImageCodec.default.encode(image, as: .png))
                .write(to: directory.appendingPathComponent(String(format: "img-%05d.png", index)))
        }
    }
}
