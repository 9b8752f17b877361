// Per-task overhead of the gRPC transport over loopback: a `RunTask` round trip through
// `GRPCNodeConnection` → HTTP/2 on 127.0.0.1 → `NodeServiceProvider` → a node.
//
//   swift run -c release dip-grpc-bench [--tasks N] [--concurrency C] [--image PATH --storage-root DIR] [--unary]
//   dip-grpc-bench --serve 127.0.0.1:PORT [--image PATH --storage-root DIR]     # the node half only (and its task port)
//   dip-grpc-bench --connect 127.0.0.1:PORT [--task-address ADDRESS] [--tasks N] [--concurrency C] [--unary] # the server half only
//   dip-grpc-bench --serve 127.0.0.1:PORT --raw / --connect ADDRESS --raw [--tasks N]  # the floor (RawEcho.swift)
//   ... --raw --pinned (both halves): the floor with the handlers on their channel's event loop
//   ... --takeover (both halves): Swift Concurrency on NIO's event loops
//   dip-grpc-bench --serve 127.0.0.1:PORT --lean / --connect ADDRESS --lean [--tasks N]  # the raw exchange without HTTP/2 or gRPC (LeanEcho.swift)
//
// Without --image the node answers at once (pure transport overhead). With --image the node is a
// real `ImagingNode` running the `identity` pipeline on that image (decode + encode included), and
// the same tasks are also timed with direct in-process calls, so the difference is the transport.
// Tasks travel on the `RunTaskBatches` stream unless --unary (one `RunTask` call each), over the
// node's task port when --connect is given its --task-address (what dip-server does with a node
// that advertises one). --serve and --connect put the two halves in separate processes (as
// dip-server and dip-node are): start --serve first (it prints "listening on ADDRESS" and "task
// port on ADDRESS" and serves until killed), then --connect to its addresses; --connect needs the
// same --image relative path (or none) as --serve. In one process both paths are timed.
import DistributedImaging
import DistributedImagingGRPC
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Answers every task at once.
struct ImmediateExecutor: TaskExecutor {
    let node = NodeID("bench")
    func execute(_ task: TaskRequest) async -> TaskReceipt {
        TaskReceipt(for: task, status: .succeeded, node: self.node)
    }
}

struct DirectConnection: NodeConnection {
    let executor: any TaskExecutor
    var node: NodeID { self.executor.node }
    func run(_ task: TaskRequest) async throws -> TaskReceipt { await self.executor.execute(task) }
}

func argument(_ name: String) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

func microseconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) * 1e6 + Double(attoseconds) / 1e12
}

func format(_ value: Double) -> String { String(format: "%.1f", value) }

/// Times `count` sequential calls and `count` calls `concurrency` at a time.
func measure(
    _ label: String, connection: any NodeConnection, tasks: [TaskRequest], concurrency: Int
) async throws {
    // Warm up: connect, JIT the paths.
    for task in tasks.prefix(50) { _ = try await connection.run(task) }
    var latencies: [Double] = []
    latencies.reserveCapacity(tasks.count)
    let clock = ContinuousClock()
    let sequentialStart = clock.now
    for task in tasks {
        let start = clock.now
        let receipt = try await connection.run(task)
        precondition(receipt.status == .succeeded, "task failed: \(receipt.error ?? "")")
        latencies.append(microseconds(clock.now - start))
    }
    let sequential = clock.now - sequentialStart
    latencies.sort()
    let mean = latencies.reduce(0, +) / Double(latencies.count)
    let p50 = latencies[latencies.count / 2]
    let p99 = latencies[min(latencies.count - 1, latencies.count * 99 / 100)]

    let concurrentStart = clock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        var iterator = tasks.makeIterator()
        for _ in 0..<concurrency {
            guard let task = iterator.next() else { break }
            group.addTask { _ = try await connection.run(task) }
        }
        while try await group.next() != nil {
            guard let task = iterator.next() else { continue }
            group.addTask { _ = try await connection.run(task) }
        }
    }
    let concurrent = clock.now - concurrentStart
    let perSecond = Double(tasks.count) / (microseconds(concurrent) / 1e6)
    print(
        "\(label): \(tasks.count) tasks; sequential mean \(format(mean)) µs, p50 \(format(p50)) µs, "
            + "p99 \(format(p99)) µs (\(format(microseconds(sequential) / 1e6)) s); "
            + "\(concurrency) in flight: \(format(perSecond)) tasks/s")
}

// --takeover: Swift Concurrency's jobs run on NIO's event loops (NIO's global-executor hook), so
// no message hops between the cooperative pool and an event loop thread. Both halves, any mode.
if CommandLine.arguments.contains("--takeover") {
    precondition(NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor())
}
let count = Int(argument("--tasks") ?? "") ?? 2000
let concurrency = Int(argument("--concurrency") ?? "") ?? 16
let streaming = !CommandLine.arguments.contains("--unary")
let serve = argument("--serve")
let connect = argument("--connect")
let raw = CommandLine.arguments.contains("--raw")
let pinned = raw && CommandLine.arguments.contains("--pinned")
let lean = CommandLine.arguments.contains("--lean")
let logger = Logger(label: "dip-grpc-bench", factory: { _ in SwiftLogNoOpLogHandler() })
let taskAddress = try argument("--task-address").map { try PeerAddress(parsing: $0) }
let path = !streaming ? "unary RunTask" : taskAddress != nil ? "task port (RunTaskBatches messages over TCP)" : "task stream (RunTaskBatches)"

let executor: any TaskExecutor
let tasks: [TaskRequest]
if let image = argument("--image"), let root = argument("--storage-root") {
    let storage = try SharedStorage(root: root)
    let node = try ImagingNode(
        configuration: NodeConfiguration(name: "bench", policy: .mandatory, load: 0, delay: 0, maxConcurrentTasks: 64),
        storage: storage, logger: logger)
    executor = node
    let input = try storage.relativePath(image)
    tasks = (0..<count).map { index in
        TaskRequest(
            jobID: JobID("bench"), taskIndex: index, inputPath: input, outputPath: "bench-out/\(index % 64).png",
            pipeline: "identity")
    }
    if serve == nil && connect == nil {
        try await measure("in-process (identity on \(input))", connection: DirectConnection(executor: node), tasks: tasks, concurrency: concurrency)
    }
} else {
    executor = ImmediateExecutor()
    tasks = (0..<count).map { index in
        TaskRequest(
            jobID: JobID("bench"), taskIndex: index, inputPath: "photos/\(index).png", outputPath: "out/\(index).png",
            pipeline: "identity")
    }
    if serve == nil && connect == nil {
        try await measure("in-process (no work)", connection: DirectConnection(executor: executor), tasks: tasks, concurrency: concurrency)
    }
}

/// Prints an echo floor's figures: sequential round trips (`latencies`, sorted, microseconds) and
/// messages per second with `concurrency` in flight.
func printEcho(_ label: String, _ latencies: [Double], _ perSecond: Double) {
    let mean = latencies.reduce(0, +) / Double(max(latencies.count, 1))
    print(
        "\(label): \(latencies.count) messages; "
            + "sequential mean \(format(mean)) µs, p50 \(format(latencies[latencies.count / 2])) µs, "
            + "p99 \(format(latencies[min(latencies.count - 1, latencies.count * 99 / 100)])) µs; "
            + "\(concurrency) in flight: \(format(perSecond)) messages/s")
}

/// Times the tasks over a connection to `address` (and `taskAddress`, its task port).
func measureRemote(_ label: String, address: PeerAddress, taskAddress: PeerAddress? = nil) async throws {
    let connection = try GRPCNodeConnection(node: executor.node, address: address, streaming: streaming, taskAddress: taskAddress)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await connection.runConnections() }
        defer { connection.close() }
        try await measure(label, connection: connection, tasks: tasks, concurrency: concurrency)
    }
}

if lean, let connect {
    let address = try PeerAddress(parsing: connect)
    let (latencies, perSecond) = try await leanPingPong(host: address.host, port: address.port, count: count, window: concurrency)
    printEcho("lean loopback (length-prefixed protobuf over TCP, no HTTP/2), separate processes, \(address)", latencies, perSecond)
} else if lean, let serve {
    try await leanServe(port: try PeerAddress(parsing: serve).port)
} else if raw, let connect {
    let address = try PeerAddress(parsing: connect)
    let (latencies, perSecond) = pinned
        ? try await pinnedPingPong(host: address.host, port: address.port, count: count, window: concurrency)
        : try await rawPingPong(host: address.host, port: address.port, count: count, window: concurrency)
    printEcho("gRPC loopback, separate processes, raw RunTasks echo (the floor), \(address)", latencies, perSecond)
} else if raw, pinned, let serve {
    try await pinnedServe(port: try PeerAddress(parsing: serve).port)
} else if let connect {
    let address = try PeerAddress(parsing: connect)
    try await measureRemote("loopback, separate processes, \(path), \(taskAddress ?? address)", address: address, taskAddress: taskAddress)
} else {
    let endpoint = GRPCEndpoint(
        listen: try serve.map { try PeerAddress(parsing: $0) } ?? PeerAddress(host: "127.0.0.1", port: 0),
        services: raw ? [EchoNodeService()] : [NodeServiceProvider(executor: executor)])
    let taskPort = raw ? nil : TaskPortListener(listen: PeerAddress(host: "127.0.0.1", port: 0), executor: executor, logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await endpoint.run() }
        if let taskPort { group.addTask { try await taskPort.run() } }
        defer {
            endpoint.beginGracefulShutdown()
            group.cancelAll()
        }
        let address = try await endpoint.listeningAddress
        let taskAddress = await taskPort?.listeningAddress
        if serve != nil {
            print("dip-grpc-bench: listening on \(address)")
            if let taskAddress { print("dip-grpc-bench: task port on \(taskAddress)") }
            fflush(nil)  // all streams: "listening on" reaches a pipe at once
            try await group.next()
            return
        }
        try await measureRemote("loopback, one process, \(path), \(address)", address: address)
        if streaming, let taskAddress {
            try await measureRemote(
                "loopback, one process, task port (RunTaskBatches messages over TCP), \(taskAddress)",
                address: address, taskAddress: taskAddress)
        }
    }
}
