// Scheduling overhead, in process: how much the job → tasks → nodes → receipts flow costs per
// task when the work itself is trivial (the `identity` pipeline on 4×4 PNGs).
//
// Usage: swift run -c release dip-bench scheduling [--tasks N] [--runs N] [--dir SCRATCH_DIR]
//
// SCRATCH_DIR defaults to the temporary directory; on a disk file system the file creation and
// rename of every output dominate, so use a tmpfs (/dev/shm) to see the CPU cost.
//
// Five figures, each the median of --runs jobs of --tasks tasks on an embedded cluster of two
// nodes (load 0, no delay):
// - work only: the task's work in a plain loop on one thread (no server, no node), the baseline;
// - dispatch: nodes answer at once (no file access): listing, naming, placement, events and
//   receipts — the server's overhead;
// - task: real nodes: admission, a hop to the NIO thread pool, read + decode + identity +
//   encode + atomic write of a 4×4 PNG;
// - task, optional 0.5: the same with Optional nodes at load 0.5 (≈ 2 attempts per task);
// - task, durable: Mandatory nodes with durableWrites (fsync of each output and its directory):
//   what `--durable-writes` costs; run it with --dir on a disk, tmpfs ignores fsync.
//
// Every job (warm-up included) writes to a fresh output directory, removed after it outside the
// timing, so no run skips images an earlier one completed. Each row prints its attempts per
// task over the timed runs; the rows with a law check it: 1 attempt per task when every node
// accepts (dispatch, Mandatory), 1/(1−load) for Optional (2.00 at load 0.5, a geometric number
// of attempts with variance load/(1−load)²). A mean further from the law than 4 standard errors
// over all the timed tasks prints a FAIL line, and the command exits with status 1.

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

    /// What the attempts per task must be: `mean`, and the variance of one task's attempts.
    struct Law {
        var mean: Double
        var variance: Double
        var formula: String

        /// Every attempt accepted: exactly one per task.
        static let one = Law(mean: 1, variance: 0, formula: "1 (every node accepts)")

        /// Each attempt rejected with probability `load`, independently: geometric attempts.
        static func optional(load: Double) -> Law {
            Law(
                mean: 1 / (1 - load), variance: load / ((1 - load) * (1 - load)),
                formula: String(format: "1/(1−%.2g)", load))
        }
    }

    /// Runs the benchmark; returns `false` when a job failed or attempts broke their law.
    static func main(arguments: [String]) async -> Bool {
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
                return false
            }
        }
        do {
            let passed = try await self.run(tasks: tasks, runs: runs, directory: directory)
            if !passed { print("FAIL: dip-bench scheduling: see the FAIL lines above") }
            return passed
        } catch {
            print("FAIL: dip-bench scheduling: error: \(error)")
            return false
        }
    }

    static func run(tasks: Int, runs: Int, directory: String) async throws -> Bool {
        let root = directory + "/dip-bench-scheduling-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root + "/in", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let image = try Image(width: 4, height: 4, channels: 3, pixels: (0..<48).map { UInt8($0 * 5) })
        let png = try ImageCodec.default.encode(image, as: .png)
        for index in 0..<tasks {
            try Data(png).write(to: URL(fileURLWithPath: root + "/in/\(String(format: "%05d", index)).png"))
        }
        let logger = Logger(label: "dip-bench", factory: { _ in SwiftLogNoOpLogHandler() })
        print("Scheduling overhead: \(tasks) tasks of `identity` on a 4×4 PNG, 2 nodes, median of \(runs) jobs, files in \(directory)")

        // The work alone, sequentially on this thread: what a task costs without any scheduling.
        let storage = try SharedStorage(root: root)
        let pipeline = try Pipeline(parsing: "identity")
        let names = (0..<tasks).map { String(format: "%05d", $0) }
        var passed = try await self.measure("work only (sequential)", tasks: tasks, runs: runs, root: root) { request in
            let output = request.outputDirectory ?? "work"
            for name in names {
                let image = try ImageCodec.default.decode(try storage.read("in/\(name).png"), name: name)
                try storage.write(try ImageCodec.default.encode(try pipeline.apply(to: image), as: .png), to: "\(output)/\(name).png")
            }
            return JobReceipt(
                jobID: JobID("work"), status: .succeeded, input: "in", output: output, pipeline: "identity",
                tasks: names.map { JobReceipt.Task(input: $0, output: nil, status: .succeeded, attempts: 1) }, elapsed: 0, message: "")
        }

        // Dispatch only: the server against nodes that answer at once.
        let transport = InProcessTransport()
        transport.register(InstantNode(node: NodeID("a")))
        transport.register(InstantNode(node: NodeID("b")))
        let server = try ImagingServer(
            configuration: .init(seed: 1), storage: storage, nodes: transport.connections(), logger: logger)
        passed = try await self.measure("dispatch (instant nodes)", tasks: tasks, runs: runs, root: root, law: .one) { request in
            try await server.submit(request)
        } && passed

        let variants: [(label: String, policy: SchedulingPolicy, load: Double, durable: Bool)] = [
            ("task (mandatory, load 0)", .mandatory, 0, false),
            ("task (optional, load 0.5)", .optional, 0.5, false),
            ("task (mandatory, durable)", .mandatory, 0, true),
        ]
        for (label, policy, load, durable) in variants {
            var nodes = try LocalCluster.nodeConfigurations(
                count: 2, policy: policy, loads: [load], delay: 0, maxConcurrentTasks: ProcessInfo.processInfo.activeProcessorCount * 2)
            for index in nodes.indices { nodes[index].durableWrites = durable }
            let cluster = try LocalCluster(storageRoot: root, nodes: nodes, seed: 1, logger: logger)
            let law = policy == .mandatory ? Law.one : Law.optional(load: load)
            passed = try await self.measure(label, tasks: tasks, runs: runs, root: root, law: law) { request in
                try await cluster.submit(request)
            } && passed
        }
        return passed
    }

    /// Times `job` (median of `runs`, after one warm-up), each run on a fresh output directory;
    /// prints the row and, with a `law`, the check of the attempts against it.
    ///
    /// - Returns: `false` when a job did not run every task or the attempts broke the law.
    static func measure(
        _ label: String, tasks: Int, runs: Int, root: String, law: Law? = nil,
        _ job: (JobRequest) async throws -> JobReceipt
    ) async throws -> Bool {
        let slug = String(label.map { $0.isLetter || $0.isNumber ? $0 : "-" })
        var seconds: [Double] = []
        var attempts = 0
        var timedTasks = 0
        for run in 0...max(runs, 1) {  // run 0 is the warm-up
            let output = "out/\(slug)-\(run)"
            let request = JobRequest(inputDirectory: "in", outputDirectory: output, pipeline: "identity")
            let start = ContinuousClock.now
            let receipt = try await job(request)
            let (whole, fraction) = (ContinuousClock.now - start).components
            try? FileManager.default.removeItem(atPath: root + "/" + output)
            guard receipt.status == .succeeded, receipt.counts.succeeded == tasks else {
                print(
                    "  FAIL: \(label): run \(run): \(receipt.counts.succeeded) of \(tasks) tasks succeeded, "
                        + "\(receipt.counts.skipped) skipped: \(receipt.message)")
                return false
            }
            if run == 0 { continue }
            seconds.append(Double(whole) + Double(fraction) / 1e18)
            attempts += receipt.tasks.map(\.attempts).reduce(0, +)
            timedTasks += receipt.counts.succeeded
        }
        let median = seconds.sorted()[seconds.count / 2]
        let perTask = median / Double(tasks) * 1e6
        let mean = Double(attempts) / Double(max(timedTasks, 1))
        print(
            String(
                format: "  %-28@ %9.0f tasks/s  %7.1f µs/task  (%.2f attempts/task)", label as NSString,
                Double(tasks) / median, perTask, mean))
        guard let law else { return true }
        // 4 standard errors of the mean over every timed task (none when the law is exact).
        let tolerance = 4 * (law.variance / Double(max(timedTasks, 1))).squareRoot()
        let ok = abs(mean - law.mean) <= tolerance + 1e-9
        print(
            String(
                format: "    %@ attempts/task %.3f, law %@ = %.2f ± %.3f (4σ over %ld tasks)", (ok ? "ok:" : "FAIL:") as NSString,
                mean, law.formula as NSString, law.mean, tolerance, timedTasks))
        return ok
    }
}
