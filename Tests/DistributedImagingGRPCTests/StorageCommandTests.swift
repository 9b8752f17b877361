import DistributedImaging
import Foundation
import Testing

/// The storage guarantees through the real executables: overlapping directories exit 2 before
/// any write; `--durable-writes` parses on dip-client (embedded) and dip-node.
@Suite("Storage flags and refusals (real executables)", .serialized, .timeLimit(.minutes(2)))
struct StorageCommandTests {
    func withDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dip-storage-\(UUID().uuidString)")
            .resolvingSymlinksInPath()
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        return try await body(url)
    }

    static func png(variant: UInt8) throws -> Data {
        let image = try Image(width: 2, height: 2, channels: 3, pixels: [UInt8](repeating: variant, count: 12))
        return Data(try ImageCodec.default.encode(image, as: .png))
    }

    @Test("dip-client submit --embedded with the input inside the output exits 2 and writes nothing")
    func overlapExitsTwo() async throws {
        try await self.withDirectory { root in
            let logs = root.appendingPathComponent("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            let deep = root.appendingPathComponent("w2/d/d")
            try FileManager.default.createDirectory(at: deep, withIntermediateDirectories: true)
            let outer = try Self.png(variant: 10)
            let inner = try Self.png(variant: 200)
            try outer.write(to: root.appendingPathComponent("w2/d/x.png"))
            try inner.write(to: deep.appendingPathComponent("x.png"))
            let result = try await runToCompletion(
                "dip-client",
                [
                    "submit", "--embedded", "--nodes", "1", "--policy", "mandatory", "--delay", "0", "--pipeline", "identity",
                    "--recursive", "--storage-root", root.path, "--output", root.appendingPathComponent("w2").path,
                    root.appendingPathComponent("w2/d").path,
                ],
                logDirectory: logs, name: "overlap")
            #expect(result.status == 2, "\(result.output)\(result.errors)")
            #expect(result.errors.contains("overlap"), "\(result.errors)")
            #expect(try Data(contentsOf: root.appendingPathComponent("w2/d/x.png")) == outer)
            #expect(try Data(contentsOf: deep.appendingPathComponent("x.png")) == inner)
            #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("w2/receipt.json").path))
        }
    }

    @Test("dip-client submit --embedded --durable-writes runs the job; the outputs are whole")
    func clientDurableWrites() async throws {
        try await self.withDirectory { root in
            let logs = root.appendingPathComponent("logs")
            let input = root.appendingPathComponent("in")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            for index in 0..<3 { try Self.png(variant: UInt8(index)).write(to: input.appendingPathComponent("\(index).png")) }
            let result = try await runToCompletion(
                "dip-client",
                [
                    "submit", "--embedded", "--durable-writes", "--nodes", "1", "--policy", "mandatory", "--delay", "0",
                    "--pipeline", "identity", "--json", input.path,
                ],
                logDirectory: logs, name: "durable")
            #expect(result.status == 0, "\(result.errors)")
            let receipt = try JSONDecoder().decode(JobReceipt.self, from: Data(result.output.utf8))
            #expect(receipt.counts.succeeded == 3)
            for index in 0..<3 {
                let output = root.appendingPathComponent("in-out/\(index).png")
                let image = try ImageCodec.default.decode(Array(try Data(contentsOf: output)), name: output.path)
                #expect(image.pixels == [UInt8](repeating: UInt8(index), count: 12))
            }
            // Not meaningful without --embedded: refused rather than ignored.
            let remote = try await runToCompletion(
                "dip-client", ["submit", "--server", "127.0.0.1:1", "--durable-writes", input.path], logDirectory: logs, name: "remote")
            #expect(remote.status != 0)
            #expect(remote.errors.contains("--durable-writes"), "\(remote.errors)")
        }
    }

    @Test("dip-node --durable-writes parses and the node starts")
    func nodeDurableWrites() async throws {
        try await self.withDirectory { root in
            let logs = root.appendingPathComponent("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            let node = try ManagedProcess(
                "dip-node",
                ["--name", "durable", "--listen", "127.0.0.1:0", "--storage-root", root.path, "--durable-writes"],
                logDirectory: logs, name: "node")
            defer { node.stop() }
            _ = try await node.waitForLine(containing: "listening on")
        }
    }
}
