// Scale: one job of many tasks over many nodes, through the real placement and admission code on
// a virtual clock.
//
// Usage: swift run -c release dip-bench simulate [--nodes 10000] [--tasks 1000000]
//            [--policy optional|mandatory] [--placement random|p2c|least-loaded|untried-first]
//            [--slots 8] [--max-concurrent-tasks N] [--processing 0.02] [--delay 3] [--seed 1]
//
// What is real: every attempt's node is chosen by the `Placement` the server uses (with the
// server's per-task random stream, among the nodes with room, seeing their advertised state),
// and every admission is the node's `Scheduler` (Mandatory or Optional, with the node's per-task
// random stream). What is modelled (`SchedulingSimulation`): the clock (virtual, a priority queue
// of events), the server's dispatch bound and per-node room (2 × slots), the nodes' slots and
// FIFO queues, and processing (a constant). Node loads are spread evenly over 0…0.9
// (node i of n has load 0.9 · i / (n − 1)). `random` and `p2c` cost O(1) per attempt whatever
// the node count; `least-loaded` and `untried-first` look at every node with room.
//
// Prints the wall time, the process CPU (user + system) per task, the peak resident memory
// (getrusage ru_maxrss) and what the job did. Exits 1 when the run took 60 s or more.

import DistributedImaging
import Foundation

#if canImport(Glibc)
import Glibc
#endif

enum ScaleSimulation {
    static func main(arguments: [String]) -> Bool {
        var nodes = 10_000
        var tasks = 1_000_000
        var policy = SchedulingPolicy.optional
        var placement = PlacementStrategy.random
        var slots = 8
        var maxConcurrent: Int?
        var processing = 0.02
        var delay = 3.0
        var seed: UInt64 = 1
        var iterator = arguments.makeIterator()
        func usage() -> Bool {
            print(
                "usage: dip-bench simulate [--nodes N] [--tasks N] [--policy mandatory|optional] [--placement NAME] "
                    + "[--slots N] [--max-concurrent-tasks N] [--processing S] [--delay S] [--seed S]")
            return false
        }
        while let argument = iterator.next() {
            let value = iterator.next() ?? ""
            switch argument {
            case "--nodes": guard let n = Int(value), n >= 1 else { return usage() }; nodes = n
            case "--tasks": guard let n = Int(value), n >= 1 else { return usage() }; tasks = n
            case "--policy": guard let p = SchedulingPolicy(rawValue: value) else { return usage() }; policy = p
            case "--placement": guard let p = PlacementStrategy(rawValue: value) else { return usage() }; placement = p
            case "--slots": guard let n = Int(value), n >= 1 else { return usage() }; slots = n
            case "--max-concurrent-tasks": guard let n = Int(value), n >= 1 else { return usage() }; maxConcurrent = n
            case "--processing": guard let x = Double(value), x >= 0, x.isFinite else { return usage() }; processing = x
            case "--delay": guard let x = Double(value), x >= 0, x.isFinite else { return usage() }; delay = x
            case "--seed": guard let n = UInt64(value) else { return usage() }; seed = n
            default: return usage()
            }
        }
        // By default the dispatch bound is what the nodes can hold, so every node fills.
        let bound = maxConcurrent ?? nodes * 2 * slots
        let simulatedNodes = (0..<nodes).map { index in
            SchedulingSimulation.Node(
                name: NodeID("node-\(index + 1)"), policy: policy,
                load: nodes == 1 ? 0 : 0.9 * Double(index) / Double(nodes - 1), delay: .milliseconds(Int64((delay * 1000).rounded())),
                seed: SeededRandomNumberGenerator.derive(seed: seed, ["node", "node-\(index + 1)"]))
        }
        let simulation = SchedulingSimulation(
            nodes: simulatedNodes, placement: placement.makePlacement(), slots: slots, processing: processing,
            serverSeed: SeededRandomNumberGenerator.derive(seed: seed, ["server"]), maxConcurrentTasks: bound,
            rejectionRoundTrip: 0.001)
        let before = Self.cpuSeconds()
        let clock = ContinuousClock()
        let began = clock.now
        let outcome = simulation.run(job: JobID("scale"), images: tasks)
        let wall = (clock.now - began)
        let wallSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        let cpu = Self.cpuSeconds() - before
        let attempts = outcome.attempts.reduce(0, +)
        var latencies = outcome.latencies
        latencies.sort()
        let p99 = latencies[max(0, Int((0.99 * Double(latencies.count)).rounded(.up)) - 1)]
        print("dip-bench simulate: \(nodes) \(policy) nodes (loads 0…0.9), \(slots) slots each, \(placement) placement, "
            + "\(tasks) tasks, dispatch bound \(bound), processing \(processing) s, delay \(delay) s, seed \(seed)")
        print(String(format: "  wall time          %.2f s", wallSeconds))
        print(String(format: "  scheduler CPU/task %.2f µs (user + system, whole process, %.2f s)", cpu / Double(tasks) * 1e6, cpu))
        print(String(format: "  peak memory        %.1f MB (ru_maxrss)", Double(Self.maxRSSKilobytes()) / 1024))
        print(String(format: "  virtual makespan   %.1f s; mean task latency %.3f s, p99 %.3f s", outcome.jobSeconds,
            latencies.reduce(0, +) / Double(tasks), p99))
        print(String(format: "  attempts           %ld (%.3f per task), %ld failed", attempts, Double(attempts) / Double(tasks), outcome.failed))
        let ok = wallSeconds < 60
        print(ok ? "PASS: under 60 s of wall time" : "FAIL: 60 s of wall time or more")
        return ok
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    static func maxRSSKilobytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss)
    }
}
