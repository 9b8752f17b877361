import DistributedImaging
import DistributedImagingGRPC
import Foundation
import Synchronization
import Testing

/// A dip-server and dip-nodes started as real processes on 127.0.0.1 over a temporary storage
/// root, for fault tests. ``stopAll()`` (also from `withFaultCluster`'s cleanup) stops every
/// process it started — SIGCONT first, so a stopped process can be terminated.
///
/// Sendable: everything that changes is behind one `Mutex`.
final class FaultCluster: Sendable {
    let root: URL
    let logs: URL

    private struct State {
        var processes: [ManagedProcess] = []
        var server: ManagedProcess?
        var serverAddress: PeerAddress?
        var nodes: [String: ManagedProcess] = [:]
        var nodeAddresses: [String: PeerAddress] = [:]
        var security: PeerSecurity = .none
    }

    private let state = Mutex(State())

    var processes: [ManagedProcess] { self.state.withLock { $0.processes } }
    var server: ManagedProcess? { self.state.withLock { $0.server } }
    var serverAddress: PeerAddress? { self.state.withLock { $0.serverAddress } }
    var nodes: [String: ManagedProcess] { self.state.withLock { $0.nodes } }
    /// Where each node said it listens (the latest node started under that name).
    var nodeAddresses: [String: PeerAddress] { self.state.withLock { $0.nodeAddresses } }
    var security: PeerSecurity {
        get { self.state.withLock { $0.security } }
        set { self.state.withLock { $0.security = newValue } }
    }

    private func record(_ process: ManagedProcess, node name: String? = nil, isServer: Bool = false) {
        self.state.withLock { state in
            state.processes.append(process)
            if let name { state.nodes[name] = process }
            if isServer { state.server = process }
        }
    }

    init() throws {
        self.root = FileManager.default.temporaryDirectory.appendingPathComponent("dip-fault-\(UUID().uuidString)")
        self.logs = self.root.appendingPathComponent(".logs")
        try FileManager.default.createDirectory(at: self.logs, withIntermediateDirectories: true)
    }

    /// Starts dip-server with `arguments` (after listen, storage root and log level). Every
    /// server started by one cluster has the same state directory, so a restart resumes.
    @discardableResult
    func startServer(_ arguments: [String] = [], listen: String = "127.0.0.1:0") async throws -> PeerAddress {
        let process = try ManagedProcess(
            "dip-server", ["--listen", listen, "--storage-root", self.root.path, "--log-level", "warning"] + arguments,
            logDirectory: self.logs, name: "server")
        self.record(process, isServer: true)
        let line = try await process.waitForLine(containing: "listening on ")
        let address = try PeerAddress(parsing: String(line.split(separator: " ")[3]), key: "announcement '\(line)'")
        self.state.withLock { $0.serverAddress = address }
        return address
    }

    /// Starts a dip-node registering with the server.
    @discardableResult
    func startNode(
        _ name: String, _ arguments: [String] = [], environment: [String: String]? = nil, waitForListening: Bool = true
    ) async throws -> ManagedProcess {
        let server = try self.requireServer()
        let process = try ManagedProcess(
            "dip-node",
            ["--name", name, "--listen", "127.0.0.1:0", "--server", "\(server)", "--storage-root", self.root.path,
             "--log-level", "warning"] + arguments,
            logDirectory: self.logs, name: name, environment: environment)
        self.record(process, node: name)
        if waitForListening {
            let address = try Self.listeningAddress(try await process.waitForLine(containing: "listening on "))
            self.state.withLock { $0.nodeAddresses[name] = address }
        }
        return process
    }

    /// Starts a dip-node that does not register (the server lists it in `server.nodes`); returns
    /// it and its bound address.
    func startStaticNode(_ name: String, listen: String = "127.0.0.1:0", _ arguments: [String] = []) async throws
        -> (ManagedProcess, PeerAddress)
    {
        let process = try ManagedProcess(
            "dip-node",
            ["--name", name, "--listen", listen, "--storage-root", self.root.path, "--log-level", "warning"] + arguments,
            logDirectory: self.logs, name: "\(name)-\(self.processes.count)")
        self.record(process, node: name)
        let address = try Self.listeningAddress(try await process.waitForLine(containing: "listening on "))
        self.state.withLock { $0.nodeAddresses[name] = address }
        return (process, address)
    }

    /// The address in a "… listening on HOST:PORT …" line.
    static func listeningAddress(_ line: String) throws -> PeerAddress {
        let words = line.split(separator: " ")
        guard let index = words.firstIndex(of: "on"), index + 1 < words.count else {
            throw TestFailure("no address in '\(line)'")
        }
        return try PeerAddress(parsing: String(words[index + 1]), key: "announcement '\(line)'")
    }

    /// The number of tasks the node `name` says it holds now (its own status).
    func activeTasks(of name: String) async throws -> Int {
        guard let address = self.nodeAddresses[name] else { throw TestFailure("node '\(name)' has no known address") }
        let status = try await HealthClient.status(of: address, security: self.security)
        guard let node = status.node else { throw TestFailure("node '\(name)' answered without its advertisement") }
        return node.activeTasks
    }

    /// Waits (bounded) until the server lists `count` nodes.
    func waitForNodes(_ count: Int, timeout: Duration = .seconds(15)) async throws {
        let server = try self.requireServer()
        let deadline = ContinuousClock.now + timeout
        // Nodes that answer their health checks: a dead static node stays listed, as suspect.
        while try await HealthClient.status(of: server, security: self.security).nodes.filter({ $0.suspect != true }).count != count {
            guard ContinuousClock.now < deadline else { throw TestFailure("the server did not list \(count) nodes within \(timeout)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Starts `dip-client` (not waiting for it).
    func startClient(_ arguments: [String], name: String, environment: [String: String]? = nil) throws -> ManagedProcess {
        let process = try ManagedProcess("dip-client", arguments, logDirectory: self.logs, name: name, environment: environment)
        self.record(process)
        return process
    }

    private func requireServer() throws -> PeerAddress {
        guard let address = self.state.withLock({ $0.serverAddress }) else { throw TestFailure("start the server first") }
        return address
    }

    /// Writes `count` distinct 64×48 PNGs into `directory` (relative to the root).
    func makeImages(_ count: Int, in directory: String) throws -> [String] {
        let url = self.root.appendingPathComponent(directory)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        var names: [String] = []
        for index in 0..<count {
            var pixels = [UInt8](repeating: 0, count: 64 * 48 * 3)
            for y in 0..<48 {
                for x in 0..<64 {
                    let offset = (y * 64 + x) * 3
                    pixels[offset] = UInt8(truncatingIfNeeded: x * 4 + index)
                    pixels[offset + 1] = UInt8(truncatingIfNeeded: y * 5 + index * 7)
                    pixels[offset + 2] = UInt8(truncatingIfNeeded: (x ^ y) + index * 13)
                }
            }
            let image = try Image(width: 64, height: 48, channels: 3, pixels: pixels)
            let name = String(format: "img-%04d.png", index)
            try Data(ImageCodec.default.encode(image, as: .png)).write(to: url.appendingPathComponent(name))
            names.append(name)
        }
        return names
    }

    /// Files in `directory` (relative to the root) and below whose names mark them as temporary.
    func temporaryFiles(in directory: String) -> [String] {
        let url = self.root.appendingPathComponent(directory)
        let names = (FileManager.default.enumerator(atPath: url.path)?.allObjects as? [String]) ?? []
        return names.filter { ($0.split(separator: "/").last ?? "").hasSuffix(".tmp") }
    }

    /// Checks that every succeeded task's output equals the pipeline applied in this process.
    func expectOutputsMatchReference(_ receipt: JobReceipt, pipeline: String) throws -> [String] {
        let processor = try ImageProcessor(pipeline: pipeline)
        var mismatches: [String] = []
        for task in receipt.tasks where task.status == .succeeded {
            guard let output = task.output else { mismatches.append("\(task.input): no output"); continue }
            let expected = try processor.encodedOutput(forInput: self.root.appendingPathComponent(task.input).path, format: .png)
            let actual = try [UInt8](Data(contentsOf: self.root.appendingPathComponent(output)))
            if actual != expected { mismatches.append(output) }
            _ = try ImageCodec.default.decode(actual, name: output)
        }
        return mismatches
    }

    /// Stops every process (SIGCONT first), then removes the root.
    func stopAll() {
        for process in self.processes.reversed() {
            if process.process.isRunning { kill(process.process.processIdentifier, SIGCONT) }
            process.stop()
        }
        try? FileManager.default.removeItem(at: self.root)
    }
}

/// Runs `body` with a fresh ``FaultCluster`` and stops it afterwards, also when `body` throws.
func withFaultCluster(_ body: (FaultCluster) async throws -> Void) async throws {
    let cluster = try FaultCluster()
    defer { cluster.stopAll() }
    try await body(cluster)
}

extension ManagedProcess {
    /// Waits until `condition` holds (polling), bounded.
    static func waitUntil(timeout: Duration = .seconds(20), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TestFailure("condition not met within \(timeout)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The receipt the client printed with `--json`.
    func receipt() throws -> JobReceipt {
        try JSONDecoder().decode(JobReceipt.self, from: Data(self.output.utf8))
    }

    func signal(_ signal: Int32) {
        kill(self.process.processIdentifier, signal)
    }
}
