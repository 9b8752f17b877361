// Fair sharing, in process: how long a small job takes alone, and submitted while a large job
// runs on the same nodes (the server's dispatch bound is shared round-robin between jobs).
//
// Usage: swift run -c release dip-bench fairness [--small N] [--large N] [--runs N] [--dir SCRATCH_DIR]
//
// An embedded cluster of two Mandatory nodes with 8 slots each; every task is delayed 20 ms
// (load 1), which stands in for real work, so timings do not depend on the CPU. For each of
// --runs rounds: the small job alone, then the large job started and, once a tenth of it has
// run, the small job submitted beside it (the large job is then cancelled). Prints the median
// times and their ratio; the goal is a ratio of at most 2. Exits 1 when the ratio is above 2.

import DistributedImaging
import Foundation
import Logging

enum FairnessBenchmark {
    static func main(arguments: [String]) async -> Bool {
        var small = 20
        var large = 2000
        var runs = 3
        var directory = FileManager.default.temporaryDirectory.path
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--small": small = Int(iterator.next() ?? "") ?? small
            case "--large": large = Int(iterator.next() ?? "") ?? large
            case "--runs": runs = Int(iterator.next() ?? "") ?? runs
            case "--dir": directory = iterator.next() ?? directory
            default:
                print("usage: dip-bench fairness [--small N] [--large N] [--runs N] [--dir SCRATCH_DIR]")
                return false
            }
        }
        do {
            return try await self.run(small: small, large: large, runs: max(1, runs), directory: directory)
        } catch {
            print("FAIL: dip-bench fairness: error: \(error)")
            return false
        }
    }

    static func run(small: Int, large: Int, runs: Int, directory: String) async throws -> Bool {
        let root = directory + "/dip-bench-fairness-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let png = try ImageCodec.default.encode(
            try Image(width: 4, height: 4, channels: 3, pixels: (0..<48).map { UInt8($0 * 5) }), as: .png)
        for (name, count) in [("small", small), ("large", large)] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(name)", withIntermediateDirectories: true)
            for index in 0..<count { try Data(png).write(to: URL(fileURLWithPath: "\(root)/\(name)/\(index).png")) }
        }
        let logger = Logger(label: "dip-bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let nodes = try LocalCluster.nodeConfigurations(count: 2, policy: .mandatory, loads: [1], delay: 0.02, maxConcurrentTasks: 8)
        let cluster = try LocalCluster(storageRoot: root, nodes: nodes, seed: 1, logger: logger)
        print("Fair sharing: a \(small)-image job alone and beside a \(large)-image job; 2 nodes × 8 slots, 20 ms per task, median of \(runs)")

        var alone: [Double] = []
        var beside: [Double] = []
        for run in 0..<runs {
            let smallRequest = JobRequest(inputDirectory: "small", outputDirectory: "small-out-\(run)", pipeline: "identity")
            let start = ContinuousClock.now
            let first = try await cluster.submit(smallRequest)
            alone.append((ContinuousClock.now - start).seconds)
            guard first.status == .succeeded else { throw BenchmarkError("the small job alone: \(first.message)") }

            let largeID = try await cluster.start(
                JobRequest(inputDirectory: "large", outputDirectory: "large-out-\(run)", pipeline: "identity"))
            while (try await cluster.jobs().first { $0.id == largeID }?.succeeded ?? 0) < large / 10 {
                try await Task.sleep(for: .milliseconds(5))
            }
            var again = smallRequest
            again.outputDirectory = "small-beside-\(run)"
            let besideStart = ContinuousClock.now
            let second = try await cluster.submit(again)
            beside.append((ContinuousClock.now - besideStart).seconds)
            if let latency = second.taskLatency {
                let queued = second.tasks.compactMap(\.queueSeconds).max() ?? 0
                print(String(
                    format: "  run %d beside: makespan %.3f s, task latency p50 %.3f s, p99 %.3f s, longest wait in a node's queue %.3f s",
                    run + 1, second.makespan ?? 0, latency.p50, latency.p99, queued))
            }
            let largeRecord = try await cluster.jobs().first { $0.id == largeID }
            guard second.status == .succeeded, largeRecord?.state == .running else {
                throw BenchmarkError("the small job beside the large one: \(second.message); large job \(String(describing: largeRecord?.state))")
            }
            try await cluster.cancel(largeID)
            for try await _ in try await cluster.watch(largeID) {}
        }
        let medianAlone = alone.sorted()[alone.count / 2]
        let medianBeside = beside.sorted()[beside.count / 2]
        let ratio = medianBeside / medianAlone
        print(String(format: "  small job alone:              %8.3f s", medianAlone))
        print(String(format: "  small job beside a large one: %8.3f s", medianBeside))
        print(String(format: "  ratio: %.2f (goal ≤ 2)", ratio))
        if ratio > 2 { print("FAIL: dip-bench fairness: ratio \(String(format: "%.2f", ratio)) > 2") }
        return ratio <= 2
    }

    struct BenchmarkError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

extension Duration {
    fileprivate var seconds: Double {
        let (whole, attoseconds) = self.components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
