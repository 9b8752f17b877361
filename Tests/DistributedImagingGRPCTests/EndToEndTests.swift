import DistributedImaging
import DistributedImagingGRPC
import Foundation
import Testing

/// Starts the real executables on 127.0.0.1: one dip-server, three dip-nodes with mixed
/// policies and loads, and dip-client submit --server; compares outputs with dip-client apply.
@Suite("End to end (real executables)", .serialized, .timeLimit(.minutes(2)))
struct EndToEndTests {
    static let pipeline = "grayscale | gaussian(size: 5) | canny(low: 100, high: 200)"
    static let images = ["astronaut.png", "camera.png", "coins.png", "grace_hopper.jpg"]

    /// `Tests/Corpus` in this package: the real public images the tests read.
    static var corpus: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Corpus")
    }

    /// Runs `body` with a storage root holding `photos/` (a few corpus images), and stops every
    /// process `body` started, also when it throws.
    func withCluster(
        _ body: (_ root: URL, _ server: PeerAddress, _ logs: URL) async throws -> Void
    ) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dip-e2e-\(UUID().uuidString)")
        let logs = root.appendingPathComponent(".logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("photos"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        for image in Self.images {
            try FileManager.default.copyItem(
                at: Self.corpus.appendingPathComponent("photos/\(image)"),
                to: root.appendingPathComponent("photos/\(image)"))
        }
        try "not an image".write(to: root.appendingPathComponent("photos/README.txt"), atomically: true, encoding: .utf8)

        var started: [ManagedProcess] = []
        defer { for process in started.reversed() { process.stop() } }
        let server = try ManagedProcess(
            "dip-server", ["--listen", "127.0.0.1:0", "--storage-root", root.path, "--log-level", "warning"],
            logDirectory: logs, name: "server")
        started.append(server)
        let line = try await server.waitForLine(containing: "listening on ")
        let address = try PeerAddress(
            parsing: String(line.split(separator: " ")[3]), key: "dip-server's announcement '\(line)'")

        let nodes: [(name: String, policy: String, load: String)] = [
            ("node-1", "mandatory", "0.2"), ("node-2", "optional", "0.5"), ("node-3", "optional", "0.3"),
        ]
        for (index, node) in nodes.enumerated() {
            let process = try ManagedProcess(
                "dip-node",
                [
                    "--name", node.name, "--listen", "127.0.0.1:0", "--server", "\(address)", "--storage-root", root.path,
                    "--policy", node.policy, "--load", node.load, "--delay", "0.05", "--seed", "\(index + 1)",
                    "--log-level", "warning",
                ],
                logDirectory: logs, name: node.name)
            started.append(process)
            _ = try await process.waitForLine(containing: "listening on ")
        }
        // Wait (bounded) until all three registered.
        let deadline = ContinuousClock.now + .seconds(15)
        while try await HealthClient.status(of: address).nodes.count < nodes.count {
            guard ContinuousClock.now < deadline else { throw TestFailure("nodes did not register within 15 s") }
            try await Task.sleep(for: .milliseconds(50))
        }
        try await body(root, address, logs)
    }

    @Test("A job over the network succeeds and writes what dip-client apply writes")
    func job() async throws {
        try await self.withCluster { root, server, logs in
            let status = try await HealthClient.status(of: server)
            #expect(status.role == .server && status.protocolVersion == WireProtocol.version)
            #expect(Set(status.nodes.map(\.name.rawValue)) == ["node-1", "node-2", "node-3"])
            #expect(status.nodes.first { $0.name.rawValue == "node-2" }?.policy == .optional)

            let submit = try await runToCompletion(
                "dip-client",
                ["submit", "--server", "\(server)", "--pipeline", Self.pipeline, "--output", "photos-out", "--json", "photos"],
                logDirectory: logs, name: "client")
            #expect(submit.status == 0, "dip-client: \(submit.errors)")
            let receipt = try JSONDecoder().decode(JobReceipt.self, from: Data(submit.output.utf8))
            #expect(receipt.status == .succeeded)
            #expect(receipt.input == "photos" && receipt.output == "photos-out")
            #expect(receipt.counts.succeeded == Self.images.count)
            #expect(receipt.counts.skipped == 1)
            #expect(Set(receipt.tasks.compactMap(\.node?.rawValue)).isSubset(of: ["node-1", "node-2", "node-3"]))

            for task in receipt.tasks where task.status == .succeeded {
                let output = try #require(task.output)
                let reference = root.appendingPathComponent(".logs/reference-\(UUID().uuidString).png")
                let apply = try await runToCompletion(
                    "dip-client",
                    ["apply", "--pipeline", Self.pipeline, root.appendingPathComponent(task.input).path, reference.path],
                    logDirectory: logs, name: "apply")
                #expect(apply.status == 0, "dip-client apply: \(apply.errors)")
                let network = try Data(contentsOf: root.appendingPathComponent(output))
                #expect(network == (try Data(contentsOf: reference)), "\(output) differs from dip-client apply")
            }
        }
    }

    @Test("Paths outside the storage root are refused with exit code 2")
    func outsideRoot() async throws {
        try await self.withCluster { root, server, logs in
            let submit = try await runToCompletion(
                "dip-client", ["submit", "--server", "\(server)", "--pipeline", Self.pipeline, "/etc"], logDirectory: logs, name: "client-outside")
            #expect(submit.status == 2, "\(submit.errors)")
            #expect(submit.errors.contains("outside"))
        }
    }

    @Test("An unreachable server exits 3")
    func unreachable() async throws {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("dip-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: logs) }
        let port = try await withEndpoint([]) { $0 }
        let submit = try await runToCompletion(
            "dip-client", ["submit", "--server", "\(port)", "photos"], logDirectory: logs, name: "client-unreachable")
        #expect(submit.status == 3, "\(submit.errors)")
        #expect(submit.errors.contains("cannot reach"))
    }

    @Test("A bad flag names the flag and the value, exit code 2")
    func badFlag() async throws {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("dip-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: logs) }
        let node = try await runToCompletion(
            "dip-node", ["--name", "n", "--storage-root", logs.path, "--listen", "127.0.0.1:0", "--load", "1.5"],
            logDirectory: logs, name: "bad-node")
        #expect(node.status == 2)
        #expect(node.errors.contains("load") && node.errors.contains("1.5"), "\(node.errors)")
        let server = try await runToCompletion(
            "dip-server", ["--storage-root", logs.path, "--listen", "nowhere"], logDirectory: logs, name: "bad-server")
        #expect(server.status == 2)
        #expect(server.errors.contains("--listen") && server.errors.contains("nowhere"), "\(server.errors)")
    }
}
