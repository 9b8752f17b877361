// Scheduling overhead, in process: how much the job → tasks → nodes → receipts flow costs per
// task when the work itself is trivial (the `identity` pipeline on 4×4 PNGs).
//
// Usage: swift run -c release dip-bench scheduling [--tasks N] [--runs N]
//
// Three figures, each the median of --runs jobs of --tasks tasks on an embedded cluster of two
// nodes (load 0, no delay):
// - dispatch: nodes answer at once (no file access): listing, naming, placement, events and
//   receipts — the server's overhead;
// - task: real nodes: admission, a hop to the NIO thread pool, read + decode + identity +
//   encode + atomic write of a 4×4 PNG;
// - task, optional 0.5: the same with Optional nodes at load 0.5 (≈ 2 attempts per task).

import DistributedImaging
import Foundation
import Logging

enum SchedulingBenchmark {
    /// A node that answers every task at once without touching storage.
    struct InstantNode: TaskExecutor {
        let node: NodeID
        func execute(_ task: TaskRequest) async -> TaskReceipt {
            TaskReceipt(for: task, status: .succeeded, node: self.node)
        }
    }

    static func main(arguments: [String]) async {
        var tasks = 2000
        var runs = 5
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--tasks": tasks = Int(iterator.next() ?? "") ?? tasks
            case "--runs": runs = Int(iterator.next() ?? "") ?? runs
            default:
                print("usage: dip-bench scheduling [--tasks N] [--runs N]")
                return
            }
        }
        do {
            try await self.run(tasks: tasks, runs: runs)
        } catch {
            print("dip-bench scheduling: error: \(error)")
        }
    }

    static func run(tasks: Int, runs: Int) async throws {
        let root = FileManager.default.temporaryDirectory.path + "/dip-bench-scheduling-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root + "/in", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let image = try Image(width: 4, height: 4, channels: 3, pixels: (0..<48).map { UInt8($0 * 5) })
        let png = try ImageCodec.default.encode(image, as: .png)
        for index in 0..<tasks {
            try Data(png).write(to: URL(fileURLWithPath: root + "/in/\(String(format: "%05d", index)).png"))
        }
        let logger = Logger(label: "dip-bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let request = JobRequest(inputDirectory: "in", pipeline: "identity")
        print("Scheduling overhead: \(tasks) tasks of `identity` on a 4×4 PNG, 2 nodes, median of \(runs) jobs")

        // Dispatch only: the server against nodes that answer at once.
        let storage = try SharedStorage(root: root)
        let transport = InProcessTransport()
        transport.register(InstantNode(node: NodeID("a")))
        transport.register(InstantNode(node: NodeID("b")))
        let server = try ImagingServer(
            configuration: .init(seed: 1), storage: storage, nodes: transport.connections(), logger: logger)
        try await self.measure("dispatch (instant nodes)", tasks: tasks, runs: runs) { try await server.submit(request) }

        for (label, policy, load) in [("task (mandatory, load 0)", SchedulingPolicy.mandatory, 0.0), ("task (optional, load 0.5)", .optional, 0.5)] {
            let nodes = try LocalCluster.nodeConfigurations(
                count: 2, policy: policy, loads: [load], delay: 0, maxConcurrentTasks: ProcessInfo.processInfo.activeProcessorCount * 2)
            let cluster = try LocalCluster(storageRoot: root, nodes: nodes, seed: 1, logger: logger)
            try await self.measure(label, tasks: tasks, runs: runs) { try await cluster.submit(request) }
        }
    }

    static func measure(_ label: String, tasks: Int, runs: Int, _ job: () async throws -> JobReceipt) async throws {
        _ = try await job()  // warm-up
        var seconds: [Double] = []
        var attempts = 0
        for _ in 0..<max(runs, 1) {
            let start = ContinuousClock.now
            let receipt = try await job()
            let (whole, fraction) = (ContinuousClock.now - start).components
            seconds.append(Double(whole) + Double(fraction) / 1e18)
            guard receipt.status == .succeeded else {
                print("  \(label): job failed: \(receipt.message)")
                return
            }
            attempts = receipt.tasks.map(\.attempts).reduce(0, +)
        }
        let median = seconds.sorted()[seconds.count / 2]
        let perTask = median / Double(tasks) * 1e6
        print(
            String(
                format: "  %-28@ %9.0f tasks/s  %7.1f µs/task  (%.2f attempts/task)", label as NSString,
                Double(tasks) / median, perTask, Double(attempts) / Double(tasks)))
    }
}
