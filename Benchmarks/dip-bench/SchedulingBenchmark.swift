// Scheduling overhead, in process: how much the job → tasks → nodes → receipts flow costs per
// task when the work itself is trivial (the `identity` pipeline on 4×4 PNGs).
//
// Usage: swift run -c release dip-bench scheduling [--tasks N] [--runs N] [--dir SCRATCH_DIR]
//
// SCRATCH_DIR defaults to the temporary directory; on a disk file system the file creation and
// rename of every output dominate, so use a tmpfs (/dev/shm) to see the CPU cost.
//
// Four figures, each the median of --runs jobs of --tasks tasks on an embedded cluster of two
// nodes (load 0, no delay):
// - work only: the task's work in a plain loop on one thread (no server, no node), the baseline;
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
        var directory = FileManager.default.temporaryDirectory.path
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--tasks": tasks = Int(iterator.next() ?? "") ?? tasks
            case "--runs": runs = Int(iterator.next() ?? "") ?? runs
            case "--dir": directory = iterator.next() ?? directory
            default:
                print("usage: dip-bench scheduling [--tasks N] [--runs N] [--dir SCRATCH_DIR]")
                return
            }
        }
        do {
            try await self.run(tasks: tasks, runs: runs, directory: directory)
        } catch {
            print("dip-bench scheduling: error: \(error)")
        }
    }

    static func run(tasks: Int, runs: Int, directory: String) async throws {
        let root = directory + "/dip-bench-scheduling-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root + "/in", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let image = try Image(width: 4, height: 4, channels: 3, pixels: (0..<48).map { UInt8($0 * 5) })
        let png = try ImageCodec.default.encode(image, as: .png)
        for index in 0..<tasks {
            try Data(png).write(to: URL(fileURLWithPath: root + "/in/\(String(format: "%05d", index)).png"))
        }
        let logger = Logger(label: "dip-bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let request = JobRequest(inputDirectory: "in", pipeline: "identity")
        print("Scheduling overhead: \(tasks) tasks of `identity` on a 4×4 PNG, 2 nodes, median of \(runs) jobs, files in \(directory)")

        // The work alone, sequentially on this thread: what a task costs without any scheduling.
        let storage = try SharedStorage(root: root)
        let pipeline = try Pipeline(parsing: "identity")
        let names = (0..<tasks).map { String(format: "%05d", $0) }
        try await self.measure("work only (sequential)", tasks: tasks, runs: runs) {
            for name in names {
                let image = try ImageCodec.default.decode(try storage.read("in/\(name).png"), name: name)
                try storage.write(try ImageCodec.default.encode(try pipeline.apply(to: image), as: .png), to: "work/\(name).png")
            }
            return JobReceipt(
                jobID: JobID("work"), status: .succeeded, input: "in", output: "work", pipeline: "identity",
                tasks: names.map { JobReceipt.Task(input: $0, output: nil, status: .succeeded, attempts: 1) }, elapsed: 0, message: "")
        }

        // Dispatch only: the server against nodes that answer at once.
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
