import DistributedImaging
import DistributedImagingGRPC
import Foundation
import Testing

/// Failures of the environment, with the real executables on 127.0.0.1: full and read-only
/// storage, ports already in use, corrupt receipts.
@Suite("Failure paths (real executables)", .serialized, .timeLimit(.minutes(2)))
struct FailurePathTests {
    static let pipeline = "grayscale | gaussian(size: 3)"

    // MARK: - Storage

    /// `mount`, when this process may use it (root, and the container allows tmpfs mounts).
    /// Permissions do not stop root, so full and read-only storage need real mounts.
    static let mountCommand: String? = {
        guard getuid() == 0,
            let mount = ["/usr/bin/mount", "/bin/mount"].first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else { return nil }
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("dip-mount-probe-\(UUID().uuidString)").path
        guard (try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)) != nil else { return nil }
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard (try? FailurePathTests.run(mount, ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe])) == 0 else { return nil }
        _ = try? FailurePathTests.run(mount.replacingOccurrences(of: "mount", with: "umount"), [probe])
        return mount
    }()

    static func run(_ executable: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Mounts a tmpfs with `options` on `directory` for the duration of `body`.
    static func withTmpfs<T>(at directory: URL, options: String, _ body: () async throws -> T) async throws -> T {
        let mount = try #require(Self.mountCommand)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try #require(try Self.run(mount, ["-t", "tmpfs", "-o", options, "tmpfs", directory.path]) == 0, "mount failed")
        defer { _ = try? Self.run(mount.replacingOccurrences(of: "mount", with: "umount"), ["-l", directory.path]) }
        return try await body()
    }

    /// Noise images (they do not compress), so a few fill a small file system.
    static func makeNoiseImages(_ count: Int, in directory: URL) throws -> [String] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var random = SeededRandomNumberGenerator(seed: 5)
        return try (0..<count).map { index in
            let image = try Image(
                width: 64, height: 64, channels: 3, pixels: (0..<(64 * 64 * 3)).map { _ in UInt8.random(in: 0...255, using: &random) })
            let name = String(format: "noise-%03d.png", index)
            try Data(ImageCodec.default.encode(image, as: .png)).write(to: directory.appendingPathComponent(name))
            return name
        }
    }

    @Test(
        "Full storage: tasks that cannot write fail with the reason, no output is torn, the node survives",
        .enabled(if: FailurePathTests.mountCommand != nil, "needs root and tmpfs mounts (mount -t tmpfs); CI runs as root"))
    func storageFull() async throws {
        try await withFaultCluster { cluster in
            let server = try await cluster.startServer()
            let node = try await cluster.startNode("node-1", ["--load", "0", "--max-concurrent", "2"])
            try await cluster.waitForNodes(1)
            let images = try Self.makeNoiseImages(20, in: cluster.root.appendingPathComponent("in"))
            // 20 outputs of a few kB each (smoothed grayscale noise, at least a 4 kB page each)
            // do not fit in 32 kB.
            try await Self.withTmpfs(at: cluster.root.appendingPathComponent("out"), options: "size=32k") {
                let client = try cluster.startClient(
                    ["submit", "--server", "\(server)", "--pipeline", Self.pipeline, "--output", "out", "--json", "in"], name: "client")
                #expect(try await client.waitForExit() == 1, "\(client.errors)")
                let receipt = try client.receipt()
                #expect(receipt.counts.succeeded + receipt.counts.failed == images.count)
                let failed = receipt.tasks.filter { $0.status == .failed }
                #expect(!failed.isEmpty, "the file system never filled up: the fault did not hit")
                for task in failed {
                    #expect(task.error?.contains("No space left on device") == true, "\(task.input): \(task.error ?? "")")
                }
                #expect(try cluster.expectOutputsMatchReference(receipt, pipeline: Self.pipeline).isEmpty, "an output is torn")
                #expect(cluster.temporaryFiles(in: "out").isEmpty, "left: \(cluster.temporaryFiles(in: "out"))")
                // Outputs of failed tasks do not exist at all (nothing partial under the final name).
                for task in failed {
                    let output = cluster.root.appendingPathComponent(task.output ?? "out/\(task.input)")
                    #expect(!FileManager.default.fileExists(atPath: output.path), "\(output.path) exists")
                }
            }
            #expect(node.process.isRunning, "dip-node died: \(node.errors)")
            let again = try cluster.startClient(
                ["submit", "--server", "\(server)", "--pipeline", Self.pipeline, "--output", "out-2", "in"], name: "client-2")
            #expect(try await again.waitForExit() == 0, "the node works on once space is back: \(again.errors)")
        }
    }

    @Test(
        "Read-only storage: tasks fail with the reason, the input is untouched, the node survives",
        .enabled(if: FailurePathTests.mountCommand != nil, "needs root and tmpfs mounts (mount -t tmpfs); CI runs as root"))
    func storageReadOnly() async throws {
        try await withFaultCluster { cluster in
            let server = try await cluster.startServer()
            let node = try await cluster.startNode("node-1", ["--load", "0"])
            try await cluster.waitForNodes(1)
            let images = try cluster.makeImages(4, in: "in")
            try await Self.withTmpfs(at: cluster.root.appendingPathComponent("ro-out"), options: "ro,size=64k") {
                let client = try cluster.startClient(
                    ["submit", "--server", "\(server)", "--pipeline", Self.pipeline, "--output", "ro-out", "--json", "in"],
                    name: "client")
                #expect(try await client.waitForExit() == 1, "\(client.errors)")
                let receipt = try client.receipt()
                #expect(receipt.counts.failed == images.count)
                for task in receipt.tasks {
                    #expect(task.error?.contains("Read-only file system") == true, "\(task.input): \(task.error ?? "")")
                }
                let left = try FileManager.default.contentsOfDirectory(atPath: cluster.root.appendingPathComponent("ro-out").path)
                #expect(left.isEmpty, "\(left)")
            }
            #expect(node.process.isRunning, "dip-node died: \(node.errors)")
            let again = try cluster.startClient(
                ["submit", "--server", "\(server)", "--pipeline", Self.pipeline, "--output", "out", "in"], name: "client-2")
            #expect(try await again.waitForExit() == 0, "\(again.errors)")
        }
    }

    // MARK: - Ports

    @Test("A listen or metrics port already in use: a clear error naming the address, exit 1")
    func portInUse() async throws {
        try await withFaultCluster { cluster in
            let taken = try await cluster.startServer()
            let address = "127.0.0.1:\(taken.port)"
            let server = try await runToCompletion(
                "dip-server", ["--listen", address, "--storage-root", cluster.root.path], logDirectory: cluster.logs, name: "server-taken")
            #expect(server.status == 1, "\(server.errors)")
            #expect(server.errors.contains("cannot listen on \(address)"), "\(server.errors)")
            #expect(server.errors.contains("in use"), "\(server.errors)")

            let metrics = try await runToCompletion(
                "dip-server", ["--listen", "127.0.0.1:0", "--metrics-listen", address, "--storage-root", cluster.root.path],
                logDirectory: cluster.logs, name: "server-metrics-taken")
            #expect(metrics.status == 1, "\(metrics.errors)")
            #expect(metrics.errors.contains("metrics endpoint cannot listen on \(address)"), "\(metrics.errors)")
            #expect(metrics.errors.contains("in use"), "\(metrics.errors)")

            let node = try await runToCompletion(
                "dip-node", ["--name", "n", "--listen", address, "--storage-root", cluster.root.path],
                logDirectory: cluster.logs, name: "node-taken")
            #expect(node.status == 1, "\(node.errors)")
            #expect(node.errors.contains("cannot listen on \(address)"), "\(node.errors)")
            #expect(node.errors.contains("in use"), "\(node.errors)")
        }
    }

    // MARK: - Receipts

    @Test("--only-failed with a corrupt or missing receipt: exit 2 and an error naming the file")
    func corruptReceiptForOnlyFailed() async throws {
        try await withFaultCluster { cluster in
            let corrupt = cluster.root.appendingPathComponent("out/receipt.json")
            try FileManager.default.createDirectory(at: corrupt.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(#"{"jobID": "x", "status": "#.utf8).write(to: corrupt)
            for (name, path, fragment) in [
                ("corrupt", corrupt.path, "is not a job receipt"),
                ("missing", cluster.root.appendingPathComponent("nowhere/receipt.json").path, "cannot read"),
            ] {
                for mode in [["--server", "127.0.0.1:1"], ["--embedded"]] {
                    let result = try await runToCompletion(
                        "dip-client", ["submit"] + mode + ["--only-failed", path], logDirectory: cluster.logs,
                        name: "client-\(name)-\(mode[0].dropFirst(2))")
                    #expect(result.status == 2, "\(mode): \(result.errors)")
                    #expect(result.errors.contains(path), "\(mode): \(result.errors)")
                    #expect(result.errors.contains(fragment), "\(mode): \(result.errors)")
                }
            }
        }
    }

    @Test("A re-run over a corrupt <output>/receipt.json treats it as absent: every image runs, the receipt is rewritten")
    func corruptReceiptOnRerun() async throws {
        try await withFaultCluster { cluster in
            let server = try await cluster.startServer()
            try await cluster.startNode("node-1", ["--load", "0"])
            try await cluster.waitForNodes(1)
            let images = try cluster.makeImages(3, in: "in")
            let arguments = ["submit", "--server", "\(server)", "--pipeline", Self.pipeline, "--output", "out", "--json", "in"]
            let first = try cluster.startClient(arguments, name: "client-1")
            #expect(try await first.waitForExit() == 0, "\(first.errors)")
            let receiptFile = cluster.root.appendingPathComponent("out/receipt.json")
            try Data("{ not json".utf8).write(to: receiptFile)
            let second = try cluster.startClient(arguments, name: "client-2")
            #expect(try await second.waitForExit() == 0, "\(second.errors)")
            let receipt = try second.receipt()
            #expect(receipt.counts.succeeded == images.count, "nothing is skipped on the word of a corrupt receipt")
            #expect(receipt.counts.skipped == 0)
            let rewritten = try JobReceipt.decodeJSON(Array(try Data(contentsOf: receiptFile)), source: receiptFile.path)
            #expect(rewritten.jobID == receipt.jobID)
        }
    }
}
