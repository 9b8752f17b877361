// The seed's question, answered: what the scheduling policies and placements do to a job.
//
// Usage: swift run -c release dip-bench experiment [--trials N] [--out DIR] [--seed S]
//                                                  [--processing S] [--hetero-processing S] [--round-trip S]
//
// Runs the grid policy × placement × load vector × images × slots per node (plus heterogeneous
// node speeds at 8 slots and 1,000 images, with the server's default room per node and with the
// seed's unbounded node queues, `--node-room unbounded`) through the real `Placement` and `Scheduler` code on
// a virtual clock (`SchedulingSimulation`: a discrete-event simulation, no sleeps), with paired
// seeds: trial k of every cell uses the same job id and node seeds, so policies and placements
// see the same random streams. Writes DIR/results.csv (one row per cell) and DIR/summary.txt
// (the checks against the analytic model and the placement goals), and prints the summary.
//
// --trials N (default 10,000) is the trials of the 6-image cells; a cell of M > 6 images runs
// max(20, ⌈N/M⌉). Delay T = 3 s. Processing is a constant at speed 1: --processing (default
// 0.02 s, 0.67 % of T) in the homogeneous cells, --hetero-processing (default 1 s) in the
// heterogeneous ones, where node speed 0.5 doubles it. A rejection reaches the server after
// --round-trip (default 1 ms); the analytic model ignores it (a few ms per job). Exits 1 when a 3 % check against the
// analytic model fails.

import DistributedImaging
import Foundation

enum SchedulingExperiment {
    static let delay = 3.0
    static let loadVectors: [[Double]] = [[0.8, 0.6, 0.5, 0.2], [0.1, 0.5, 0.2, 0.9], [0.2, 0.2, 0.2, 0.2], [0.8, 0.8, 0.8, 0.8], [1, 1, 0, 0]]
    static let imageCounts = [6, 100, 1000]
    static let slotCounts: [Int?] = [nil, 8, 1]
    static let heterogeneousSpeeds = [1.0, 1, 0.5, 0.5]
    static let placements: [PlacementStrategy] = [.random, .p2c, .leastLoaded, .untriedFirst]
    /// The heterogeneous cells run with the server's default room per node (2 × slots) and with
    /// the seed's dispatch (no room bound: a node queues whatever it is sent).
    static let heterogeneousRooms: [NodeRoom] = [.default, .unbounded]

    struct Cell {
        var policy: SchedulingPolicy
        var placement: PlacementStrategy
        var loads: [Double]
        var images: Int
        var slots: Int?
        var speeds: [Double]
        var processing: Double
        /// The server's room per node (``NodeRoom``): the default, or the seed's unbounded queues.
        var nodeRoom: NodeRoom = .default
    }

    struct Row {
        var cell: Cell
        var trials: Int
        var meanJob: Double
        var ci95: Double
        var analytic: Double?
        var meanLatency: Double
        var p99Latency: Double
        var meanAttempts: Double
        var makespan: Double
        var failedTasks: Int
        var capacityBound: Double?
    }

    static func main(arguments: [String]) -> Bool {
        var trials = 10_000
        var out = "experiment"
        var seed: UInt64 = 1
        var processing = 0.02
        var heteroProcessing = 1.0
        var roundTrip = 0.001
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--trials": trials = Int(iterator.next() ?? "") ?? trials
            case "--out": out = iterator.next() ?? out
            case "--seed": seed = UInt64(iterator.next() ?? "") ?? seed
            case "--processing": processing = Double(iterator.next() ?? "") ?? processing
            case "--hetero-processing": heteroProcessing = Double(iterator.next() ?? "") ?? heteroProcessing
            case "--round-trip": roundTrip = Double(iterator.next() ?? "") ?? roundTrip
            default:
                print("usage: dip-bench experiment [--trials N] [--out DIR] [--seed S] [--processing S] [--hetero-processing S] [--round-trip S]")
                return false
            }
        }
        var cells: [Cell] = []
        for loads in Self.loadVectors {
            for images in Self.imageCounts {
                for slots in Self.slotCounts {
                    for policy in SchedulingPolicy.allCases {
                        for placement in Self.placements {
                            cells.append(
                                Cell(
                                    policy: policy, placement: placement, loads: loads, images: images, slots: slots,
                                    speeds: loads.map { _ in 1 }, processing: processing))
                        }
                    }
                }
            }
            for nodeRoom in Self.heterogeneousRooms {
                for policy in SchedulingPolicy.allCases {
                    for placement in Self.placements {
                        cells.append(
                            Cell(
                                policy: policy, placement: placement, loads: loads, images: 1000, slots: 8,
                                speeds: Self.heterogeneousSpeeds, processing: heteroProcessing, nodeRoom: nodeRoom))
                    }
                }
            }
        }
        let clock = ContinuousClock()
        let began = clock.now
        var rows: [Row] = []
        for (number, cell) in cells.enumerated() {
            let trialsHere = Self.trials(images: cell.images, n: trials)
            rows.append(Self.run(cell, trials: trialsHere, seed: seed, roundTrip: roundTrip))
            if number % 20 == 19 || number == cells.count - 1 {
                let elapsed = (clock.now - began).components
                FileHandle.standardError.write(Data("  \(number + 1)/\(cells.count) cells, \(elapsed.seconds) s\n".utf8))
            }
        }
        let wall = clock.now - began
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try Self.csv(rows).write(toFile: out + "/results.csv", atomically: true, encoding: .utf8)
            let (summary, passed) = Self.summary(
                rows, trials: trials, seed: seed, processing: processing, heteroProcessing: heteroProcessing, wall: wall)
            try summary.write(toFile: out + "/summary.txt", atomically: true, encoding: .utf8)
            print(summary)
            print("wrote \(out)/results.csv and \(out)/summary.txt")
            return passed
        } catch {
            print("FAIL: dip-bench experiment: \(error)")
            return false
        }
    }

    /// Trials of a cell of `images` images for `--trials n`: `n` for the 6-image cells (the
    /// model-match check runs over all of them), max(20, ⌈n / images⌉) for the larger ones.
    static func trials(images: Int, n: Int) -> Int {
        images <= 6 ? n : max(20, (n + images - 1) / images)
    }

    /// The throughput bound on the makespan with bounded slots: node i keeps a slot for
    /// pᵢ·T + c / sᵢ per accepted task on average (delay with probability pᵢ, then processing),
    /// so no placement finishes M tasks sooner than M / Σᵢ slots / (pᵢ·T + c / sᵢ) on average
    /// (a fluid bound: it ignores the first and last tasks). `nil` with unbounded slots, or
    /// when no node can accept (Optional at load 1 everywhere).
    static func capacityBound(_ cell: Cell) -> Double? {
        guard let slots = cell.slots else { return nil }
        var rate = 0.0
        for (load, speed) in zip(cell.loads, cell.speeds) {
            if cell.policy == .optional && load >= 1 { continue }
            rate += Double(slots) / (load * Self.delay + cell.processing / speed)
        }
        return rate > 0 ? Double(cell.images) / rate : nil
    }

    /// Runs `trials` jobs of `cell`; trial k uses job id `trial-k` and the same node seeds in
    /// every cell (paired).
    static func run(_ cell: Cell, trials: Int, seed: UInt64, roundTrip: Double) -> Row {
        let nodes = cell.loads.indices.map { index in
            SchedulingSimulation.Node(
                name: NodeID("node-\(index + 1)"), policy: cell.policy, load: cell.loads[index], delay: .seconds(Self.delay),
                speed: cell.speeds[index],
                seed: SeededRandomNumberGenerator.derive(seed: seed, ["node", "node-\(index + 1)"]))
        }
        let simulation = SchedulingSimulation(
            nodes: nodes, placement: cell.placement.makePlacement(), slots: cell.slots, processing: cell.processing,
            serverSeed: SeededRandomNumberGenerator.derive(seed: seed, ["server"]), rejectionRoundTrip: roundTrip,
            nodeRoom: cell.nodeRoom)
        var jobs: [Double] = []
        var latencies: [Double] = []
        var attempts = 0
        var failed = 0
        jobs.reserveCapacity(trials)
        latencies.reserveCapacity(trials * cell.images)
        for trial in 0..<trials {
            let outcome = simulation.run(job: JobID("trial-\(trial)"), images: cell.images)
            jobs.append(outcome.jobSeconds)
            latencies.append(contentsOf: outcome.latencies)
            attempts += outcome.attempts.reduce(0, +)
            failed += outcome.failed
        }
        let mean = jobs.reduce(0, +) / Double(trials)
        let variance = jobs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(trials - 1, 1))
        latencies.sort()
        let p99 = latencies[max(0, Int((0.99 * Double(latencies.count)).rounded(.up)) - 1)]
        var analytic: Double?
        if cell.slots == nil, cell.speeds.allSatisfy({ $0 == 1 }),
            let q = SchedulingModel.delayProbability(policy: cell.policy, loads: cell.loads, placement: cell.placement)
        {
            analytic = SchedulingModel.jobSeconds(
                delayProbability: q, images: cell.images, delay: Self.delay, processing: cell.processing)
        }
        return Row(
            cell: cell, trials: trials, meanJob: mean, ci95: 1.96 * (variance / Double(trials)).squareRoot(), analytic: analytic,
            meanLatency: latencies.reduce(0, +) / Double(latencies.count), p99Latency: p99,
            meanAttempts: Double(attempts) / Double(trials * cell.images), makespan: mean, failedTasks: failed,
            capacityBound: Self.capacityBound(cell))
    }

    static func list(_ values: [Double]) -> String {
        values.map { $0 == $0.rounded() ? String(Int($0)) : String($0) }.joined(separator: "/")
    }

    static func csv(_ rows: [Row]) -> String {
        var text =
            "policy,placement,loads,images,slots,node_speeds,trials,mean_job_seconds,ci95_seconds,analytic_seconds,"
            + "mean_task_latency_seconds,p99_task_latency_seconds,mean_attempts,makespan_seconds,capacity_bound_seconds,node_room\n"
        for row in rows {
            let cell = row.cell
            let fields = [
                cell.policy.rawValue, cell.placement.rawValue, Self.list(cell.loads), String(cell.images), String(cell.slots ?? 0),
                Self.list(cell.speeds), String(row.trials), Self.number(row.meanJob), Self.number(row.ci95),
                row.analytic.map(Self.number) ?? "", Self.number(row.meanLatency), Self.number(row.p99Latency),
                Self.number(row.meanAttempts), Self.number(row.makespan), row.capacityBound.map(Self.number) ?? "",
                cell.nodeRoom.description,
            ]
            text += fields.joined(separator: ",") + "\n"
        }
        return text
    }

    static func number(_ value: Double) -> String { String(format: "%.4f", value) }

    /// The checks: the 3 % match to the model, p2c against random, heterogeneous makespan.
    static func summary(
        _ rows: [Row], trials: Int, seed: UInt64, processing: Double, heteroProcessing: Double, wall: Duration
    ) -> (String, Bool) {
        var lines: [String] = []
        var passed = true
        let (seconds, attoseconds) = wall.components
        lines.append(
            String(
                format: "dip-bench experiment: %ld cells, --trials %ld, seed %llu, T = 3 s, processing %.3g s (heterogeneous cells %.3g s), wall %.1f s",
                rows.count, trials, seed, processing, heteroProcessing, Double(seconds) + Double(attoseconds) / 1e18))
        func find(
            _ policy: SchedulingPolicy, _ placement: PlacementStrategy, _ loads: [Double], images: Int, slots: Int?, hetero: Bool = false,
            nodeRoom: NodeRoom = .default
        ) -> Row? {
            rows.first {
                $0.cell.policy == policy && $0.cell.placement == placement && $0.cell.loads == loads && $0.cell.images == images
                    && $0.cell.slots == slots && ($0.cell.speeds != $0.cell.loads.map { _ in 1 }) == hetero && $0.cell.nodeRoom == nodeRoom
            }
        }
        lines.append("")
        lines.append("1. Model match: unbounded slots, random placement, M = 6 (goal |measured − analytic| ≤ 3 %)")
        for loads in Self.loadVectors {
            for policy in SchedulingPolicy.allCases {
                guard let row = find(policy, .random, loads, images: 6, slots: nil), let analytic = row.analytic else { continue }
                let label = "\(policy.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(Self.list(loads))"
                guard analytic > 0.1 else {
                    lines.append(
                        String(
                            format: "   %@: measured %.4f s, analytic %.4f s (closed form ≈ processing only: not a relative check)",
                            label as NSString, row.meanJob, analytic))
                    continue
                }
                let error = (row.meanJob - analytic) / analytic
                let ok = abs(error) <= 0.03
                if !ok && loads != [1, 1, 0, 0] { passed = false }
                lines.append(
                    String(
                        format: "   %@ %@: measured %.4f ± %.4f s, analytic %.4f s, %+.2f %%", (ok ? "ok  " : "FAIL") as NSString, label as NSString, row.meanJob, row.ci95,
                        analytic, 100 * error))
            }
        }
        lines.append("")
        lines.append("2. Load-aware placement: mean job time against random, unbounded slots, M = 6 (goal: p2c with Optional on 0.1/0.5/0.2/0.9 ≥ 10 % lower)")
        for loads in Self.loadVectors {
            for policy in SchedulingPolicy.allCases {
                guard let random = find(policy, .random, loads, images: 6, slots: nil) else { continue }
                var parts: [String] = []
                for placement in Self.placements.dropFirst() {
                    guard let other = find(policy, placement, loads, images: 6, slots: nil) else { continue }
                    parts.append(String(format: "%@ %.3f s (%+.1f %%)", placement.rawValue as NSString, other.meanJob, 100 * (other.meanJob / random.meanJob - 1)))
                }
                let goal = policy == .optional && loads == [0.1, 0.5, 0.2, 0.9]
                var verdict = ""
                if goal, let p2c = find(policy, .p2c, loads, images: 6, slots: nil) {
                    verdict = 1 - p2c.meanJob / random.meanJob >= 0.10 ? "  [goal met]" : "  [goal NOT met]"
                }
                lines.append(
                    String(format: "   %@ %@: random %.3f s; ", policy.rawValue as NSString, Self.list(loads) as NSString, random.meanJob) + parts.joined(separator: ", ")
                        + verdict)
            }
        }
        for nodeRoom in Self.heterogeneousRooms {
            lines.append("")
            lines.append(
                "3\(nodeRoom == .default ? "a" : "b"). Heterogeneous speeds 1/1/0.5/0.5, 8 slots, 1,000 images, node room \(nodeRoom)"
                    + (nodeRoom == .default ? " (the server's default: 2 × slots)" : " (the seed's dispatch: nodes queue whatever they are sent)")
                    + ": makespan against random (goal ≥ 25 % lower)")
            for loads in Self.loadVectors {
                for policy in SchedulingPolicy.allCases {
                    guard let random = find(policy, .random, loads, images: 1000, slots: 8, hetero: true, nodeRoom: nodeRoom) else { continue }
                    var parts: [String] = []
                    for placement in Self.placements.dropFirst() {
                        guard let other = find(policy, placement, loads, images: 1000, slots: 8, hetero: true, nodeRoom: nodeRoom) else { continue }
                        let lower = 1 - other.makespan / random.makespan
                        parts.append(
                            String(format: "%@ %.1f s (%+.1f %%%@)", placement.rawValue as NSString, other.makespan, -100 * lower, (lower >= 0.25 ? ", goal met" : "") as NSString))
                    }
                    let bound = random.capacityBound.map {
                        String(format: "; capacity bound %.1f s: random is %.1f %% above it, so no placement can be more than about %.1f %% faster", $0,
                            100 * (random.makespan / $0 - 1), 100 * (1 - $0 / random.makespan))
                    } ?? ""
                    lines.append(
                        String(format: "   %@ %@: random %.1f s; ", policy.rawValue as NSString, Self.list(loads) as NSString, random.makespan) + parts.joined(separator: ", ") + bound)
                }
            }
        }
        let failed = rows.filter { $0.failedTasks > 0 }
        if !failed.isEmpty {
            lines.append("")
            lines.append("Cells with failed tasks (a task gives up after 1,000,000 attempts):")
            for row in failed { lines.append("   \(row.cell.policy) \(row.cell.placement) \(Self.list(row.cell.loads)): \(row.failedTasks)") }
        }
        return (lines.joined(separator: "\n"), passed)
    }
}
