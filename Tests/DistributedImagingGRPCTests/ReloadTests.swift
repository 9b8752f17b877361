import DistributedImaging
import DistributedImagingGRPC
import Foundation
import Testing

/// `dip-node` re-reads its configuration file on SIGHUP and applies the new load; a bad file
/// keeps the old load and logs an error naming the file and the key.
@Suite("dip-node SIGHUP reload (real executable)", .serialized, .timeLimit(.minutes(2)))
struct ReloadTests {
    private func writeConfiguration(_ url: URL, root: URL, load: String) throws {
        let text = """
            {"node": {"name": "r", "listen": "127.0.0.1:0", "storageRoot": "\(root.path)", "policy": "optional", "load": \(load)}}
            """
        try Data(text.utf8).write(to: url, options: .atomic)
    }

    /// Polls the node's standard error until it contains `marker`.
    private func waitForLog(_ process: ManagedProcess, _ marker: String) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while !process.errors.contains(marker), ContinuousClock.now < deadline, process.process.isRunning {
            try await Task.sleep(for: .milliseconds(20))
        }
        try #require(process.errors.contains(marker), "no '\(marker)' in: \(process.errors)")
    }

    @Test("SIGHUP applies the file's new load; a bad file keeps it and names the file and key")
    func sighup() async throws {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("dip-reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: logs) }
        let config = logs.appendingPathComponent("node.json")
        try self.writeConfiguration(config, root: logs, load: "0.2")
        let node = try ManagedProcess(
            "dip-node", ["--config", config.path, "--log-level", "info"], logDirectory: logs, name: "node")
        defer { node.stop() }
        _ = try await node.waitForLine(containing: "listening on ")

        try self.writeConfiguration(config, root: logs, load: "\"auto\"")
        kill(node.process.processIdentifier, SIGHUP)
        try await self.waitForLog(node, "configuration re-read; load auto")

        try self.writeConfiguration(config, root: logs, load: "\"high\"")
        kill(node.process.processIdentifier, SIGHUP)
        try await self.waitForLog(node, "configuration not applied, keeping load auto")
        #expect(node.errors.contains(config.path) && node.errors.contains("node.load") && node.errors.contains("'high'"), "\(node.errors)")

        try self.writeConfiguration(config, root: logs, load: "0.7")
        kill(node.process.processIdentifier, SIGHUP)
        try await self.waitForLog(node, "configuration re-read; load 0.7")
        #expect(node.process.isRunning, "SIGHUP must not end the node")
        node.stop()
        #expect(node.process.terminationStatus == 0)
    }
}
