import Foundation
import Testing

@testable import DistributedImaging

/// The seed's laws, through the real per-task random streams: the server's placement stream
/// (``ImagingServer/placementGenerator(seed:jobID:taskIndex:)``) and each node's decision stream
/// (``ImagingNode/decisionGenerator(seed:for:)``), driven by ``SchedulingSimulation`` on a virtual
/// clock. Seeds are fixed; every tolerance is a χ² quantile at α = 0.001 or 4 standard errors.
@Suite("Scheduling laws")
struct SchedulingLawTests {
    static let delay = 3.0
    static let processing = 0.02

    /// χ² quantiles at α = 0.001 by degrees of freedom.
    static let chiSquareCritical: [Int: Double] = [1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47, 5: 20.52, 6: 22.46, 7: 24.32, 8: 26.12]

    static func chiSquare(observed: [Int], expected: [Double]) -> Double {
        zip(observed, expected).reduce(0) { $0 + (Double($1.0) - $1.1) * (Double($1.0) - $1.1) / $1.1 }
    }

    static func simulation(
        policy: SchedulingPolicy, loads: [Double], placement: any Placement = RandomPlacement(), slots: Int? = nil,
        speeds: [Double]? = nil, processing: Double = Self.processing, nodeRoom: NodeRoom = .default, seed: UInt64
    ) -> SchedulingSimulation {
        let nodes = loads.indices.map { index in
            SchedulingSimulation.Node(
                name: NodeID("node-\(index)"), policy: policy, load: loads[index], delay: .seconds(Self.delay),
                speed: speeds?[index] ?? 1, seed: SeededRandomNumberGenerator.derive(seed: seed, ["node", "\(index)"]))
        }
        return SchedulingSimulation(
            nodes: nodes, placement: placement, slots: slots, processing: processing,
            serverSeed: SeededRandomNumberGenerator.derive(seed: seed, ["server"]), nodeRoom: nodeRoom)
    }

    /// `trials` jobs of `images` tasks, their outcomes merged.
    static func outcomes(_ simulation: SchedulingSimulation, trials: Int, images: Int) -> [SchedulingSimulation.Outcome] {
        (0..<trials).map { simulation.run(job: JobID("law-\($0)"), images: images) }
    }

    static let loads = [0.8, 0.6, 0.5, 0.2]

    @Test("Optional, random placement: attempts per task are geometric with success 1 − mean(p) (χ²)")
    func attemptsAreGeometric() throws {
        let outcomes = Self.outcomes(Self.simulation(policy: .optional, loads: Self.loads, seed: 1), trials: 2000, images: 6)
        let attempts = outcomes.flatMap(\.attempts)
        let success = 1 - Self.loads.reduce(0, +) / Double(Self.loads.count)
        let bins = 8  // 1, 2, …, 7, and 8 or more
        var observed = Array(repeating: 0, count: bins)
        for count in attempts { observed[min(count, bins) - 1] += 1 }
        let n = Double(attempts.count)
        var expected = (1..<bins).map { n * success * pow(1 - success, Double($0 - 1)) }
        expected.append(n * pow(1 - success, Double(bins - 1)))
        let statistic = Self.chiSquare(observed: observed, expected: expected)
        #expect(statistic < (try #require(Self.chiSquareCritical[bins - 1])), "χ² \(statistic), observed \(observed)")
        // And the mean, within 4 standard errors (sd √(1 − s) / s).
        let mean = Double(attempts.reduce(0, +)) / n
        #expect(abs(mean - 1 / success) <= 4 * (1 - success).squareRoot() / success / n.squareRoot(), "mean \(mean)")
    }

    @Test("Each node rejects and delays with probability equal to its load", arguments: [SchedulingPolicy.mandatory, .optional])
    func perNodeRates(policy: SchedulingPolicy) {
        let outcomes = Self.outcomes(Self.simulation(policy: policy, loads: Self.loads, seed: 2), trials: 2000, images: 6)
        for (node, load) in Self.loads.enumerated() {
            let offered = outcomes.reduce(0) { $0 + $1.offered[node] }
            let rejected = outcomes.reduce(0) { $0 + $1.rejected[node] }
            let delayed = outcomes.reduce(0) { $0 + $1.delayedByNode[node] }
            let accepted = offered - rejected
            func binomial(_ p: Double, _ n: Int) -> Double { 4 * (p * (1 - p) / Double(n)).squareRoot() + 1e-12 }
            let rejectionRate = Double(rejected) / Double(offered)
            if policy == .mandatory {
                #expect(rejected == 0)
            } else {
                #expect(abs(rejectionRate - load) <= binomial(load, offered), "node \(node): rejected \(rejectionRate)")
            }
            let delayRate = Double(delayed) / Double(accepted)
            #expect(abs(delayRate - load) <= binomial(load, accepted), "node \(node): delayed \(delayRate)")
        }
    }

    @Test("Optional, random placement: the accepting node is i with probability ∝ 1 − pᵢ (χ²)")
    func acceptingNodeDistribution() throws {
        let outcomes = Self.outcomes(Self.simulation(policy: .optional, loads: Self.loads, seed: 3), trials: 2000, images: 6)
        var observed = Array(repeating: 0, count: Self.loads.count)
        for node in outcomes.flatMap(\.acceptedBy) { observed[try #require(node)] += 1 }
        let weights = Self.loads.map { 1 - $0 }
        let total = weights.reduce(0, +)
        let n = Double(observed.reduce(0, +))
        let expected = weights.map { n * $0 / total }
        #expect(try #require(SchedulingModel.acceptingNode(policy: .optional, loads: Self.loads, placement: .random)) == weights.map { $0 / total })
        let statistic = Self.chiSquare(observed: observed, expected: expected)
        #expect(statistic < (try #require(Self.chiSquareCritical[Self.loads.count - 1])), "χ² \(statistic), observed \(observed)")
    }

    /// The figures: loads 0.1/0.5/0.2/0.9, M = 6, T = 3 s: Mandatory 2.892 s, Optional 2.493 s.
    @Test("The model's figures for 0.1/0.5/0.2/0.9, M = 6")
    func modelFigures() throws {
        let loads = [0.1, 0.5, 0.2, 0.9]
        let mandatory = try #require(SchedulingModel.delayProbability(policy: .mandatory, loads: loads, placement: .random))
        let optional = try #require(SchedulingModel.delayProbability(policy: .optional, loads: loads, placement: .random))
        #expect(abs(SchedulingModel.jobSeconds(delayProbability: mandatory, images: 6, delay: 3, processing: 0) - 2.892) < 0.001)
        #expect(abs(SchedulingModel.jobSeconds(delayProbability: optional, images: 6, delay: 3, processing: 0) - 2.493) < 0.001)
        let attempts = try #require(SchedulingModel.meanAttempts(policy: .optional, loads: loads, placement: .random))
        #expect(abs(attempts - 1 / (1 - 0.425)) < 1e-12)
        // Untried-first under Optional: the first node of a random order accepts or passes on.
        let untried = try #require(SchedulingModel.acceptingNode(policy: .optional, loads: [0.5, 0], placement: .untriedFirst))
        #expect(abs(untried[0] - 0.25) < 1e-12 && abs(untried[1] - 0.75) < 1e-12)
    }

    /// Job level: a job of M = 6 waits T iff one of its tasks is delayed; mean job time
    /// T(1 − (1 − q)^6) + processing, within 4 standard errors over 4,000 jobs.
    @Test(
        "Job-level law at M = 6, unbounded slots",
        arguments: [
            (SchedulingPolicy.mandatory, PlacementStrategy.random), (.optional, .random), (.optional, .p2c), (.mandatory, .p2c),
            (.optional, .untriedFirst),
        ])
    func jobLevelLaw(policy: SchedulingPolicy, placement: PlacementStrategy) throws {
        let loads = [0.1, 0.5, 0.2, 0.9]
        let trials = 4000
        let simulation = Self.simulation(policy: policy, loads: loads, placement: placement.makePlacement(), seed: 4)
        let jobs = Self.outcomes(simulation, trials: trials, images: 6)
        let q = try #require(SchedulingModel.delayProbability(policy: policy, loads: loads, placement: placement))
        let delayedShare = 1 - pow(1 - q, 6)
        let measuredShare = Double(jobs.filter { $0.delayed.contains(true) }.count) / Double(trials)
        #expect(abs(measuredShare - delayedShare) <= 4 * (delayedShare * (1 - delayedShare) / Double(trials)).squareRoot())
        let analytic = SchedulingModel.jobSeconds(delayProbability: q, images: 6, delay: Self.delay, processing: Self.processing)
        let mean = jobs.reduce(0) { $0 + $1.jobSeconds } / Double(trials)
        // Job time is T·Bernoulli + c: standard deviation T √(s(1 − s)).
        let tolerance = 4 * Self.delay * (delayedShare * (1 - delayedShare) / Double(trials)).squareRoot()
        #expect(abs(mean - analytic) <= tolerance, "mean \(mean), analytic \(analytic) ± \(tolerance)")
        // Every job's time is processing, or T plus processing — plus, under Optional, the
        // server's back-offs (1 ms, doubling per round in which every node declined a task):
        // a task's k back-offs add less than 2^k ms.
        for job in jobs {
            let expected = job.delayed.contains(true) ? Self.delay + Self.processing : Self.processing
            let slack = job.backOffs == 0 ? 1e-9 : 0.001 * pow(2, Double(job.backOffs))
            #expect(job.jobSeconds >= expected - 1e-9 && job.jobSeconds - expected < slack, "\(job.jobSeconds) vs \(expected)")
        }
        if policy == .mandatory { #expect(jobs.allSatisfy { $0.backOffs == 0 }) }
    }

    @Test("Bounded slots: a node's queue is first come, first served, and the server keeps 2 × slots on it (default node room)")
    func queueing() {
        // One node, one slot, no delays, 1 s per task: the server keeps 2 tasks on it (one
        // running, one queued), so the job takes 5 s and every task but the first waits 1 s.
        let simulation = Self.simulation(policy: .mandatory, loads: [0], slots: 1, processing: 1, seed: 5)
        let outcome = simulation.run(job: JobID("queue"), images: 5)
        #expect(outcome.jobSeconds == 5)
        #expect(outcome.latencies == [1, 2, 2, 2, 2])
        // A node at half speed takes twice as long.
        let slow = Self.simulation(policy: .mandatory, loads: [0], slots: 1, speeds: [0.5], processing: 1, seed: 5)
        #expect(slow.run(job: JobID("queue"), images: 5).jobSeconds == 10)
    }

    /// Two of four nodes at half speed, 8 slots, 1,000 tasks of 1 s, no delays: the nodes can
    /// finish at best in 1,000 / (8 + 8 + 4 + 4) = 41.7 s.
    @Test("Heterogeneous nodes: the default node room keeps random placement near capacity; with the seed's unbounded queues p2c beats random by ≥ 25 %")
    func heterogeneousNodeRoom() {
        let speeds = [1.0, 1, 0.5, 0.5]
        let bound = 1000.0 / 24
        func makespan(_ placement: PlacementStrategy, _ room: NodeRoom) -> Double {
            let simulation = Self.simulation(
                policy: .mandatory, loads: [0, 0, 0, 0], placement: placement.makePlacement(), slots: 8, speeds: speeds,
                processing: 1, nodeRoom: room, seed: 7)
            return (0..<3).map { simulation.run(job: JobID("hetero-\($0)"), images: 1000).jobSeconds }.reduce(0, +) / 3
        }
        // Full nodes are passed over, so random placement sends the fast nodes more.
        let bounded = makespan(.random, .default)
        #expect(bounded >= bound && bounded < 1.1 * bound, "\(bounded) against the bound \(bound)")
        // The seed's dispatch: every node gets a quarter of the tasks, the slow ones set the pace
        // (250 tasks × 2 s / 8 slots = 62.5 s), unless placement reads the queues.
        let blind = makespan(.random, .unbounded)
        #expect(blind > 1.35 * bound, "\(blind)")
        let p2c = makespan(.p2c, .unbounded)
        #expect(p2c <= 0.75 * blind && p2c < 1.1 * bound, "p2c \(p2c) against random \(blind)")
    }

    /// The experiment runs the simulation in the server's place, so it must make the server's
    /// choices: a seeded embedded job (the real `ImagingServer` and `ImagingNode`s over the
    /// in-process transport, no node ever full) and the simulation given the same seeds and job id
    /// agree on every task's attempts, accepting node and delay.
    @Test("The simulation makes a real embedded job's choices, task by task", arguments: [SchedulingPolicy.mandatory, .optional])
    func simulationMatchesServer(policy: SchedulingPolicy) async throws {
        let count = 40
        let seed: UInt64 = 77
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: count, into: "\(root)/in", size: 2)
            let configurations = try LocalCluster.nodeConfigurations(
                count: 4, policy: policy, loads: Self.loads, delay: 0.001, maxConcurrentTasks: 64)
            let cluster = try LocalCluster(storageRoot: root, nodes: configurations, seed: seed)
            let receipt = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
            #expect(receipt.status == .succeeded, "\(receipt.message)")
            let tasks = receipt.tasks.sorted { $0.input < $1.input }
            try #require(tasks.count == count)
            // LocalCluster derives the node and server seeds so.
            let nodes = configurations.map { configuration in
                SchedulingSimulation.Node(
                    name: NodeID(configuration.name), policy: policy, load: configuration.load, delay: .milliseconds(1),
                    seed: SeededRandomNumberGenerator.derive(seed: seed, ["node", configuration.name]))
            }
            let simulation = SchedulingSimulation(
                nodes: nodes, placement: RandomPlacement(), slots: nil, processing: 0.001,
                serverSeed: SeededRandomNumberGenerator.derive(seed: seed, ["server"]))
            let simulated = simulation.run(job: receipt.jobID, images: count)
            #expect(tasks.map(\.attempts) == simulated.attempts)
            #expect(tasks.map { $0.node?.rawValue } == simulated.acceptedBy.map { $0.map { nodes[$0].name.rawValue } })
            #expect(tasks.map(\.delayed) == simulated.delayed)
            // The comparison has something to compare: delays, and under Optional rejections.
            #expect(tasks.contains { $0.delayed })
            if policy == .optional { #expect(tasks.contains { $0.attempts > 1 }) }
        }
    }

    @Test("The simulation is deterministic: the same seeds, the same job")
    func deterministic() {
        let simulation = Self.simulation(policy: .optional, loads: Self.loads, placement: PowerOfTwoChoicesPlacement(), slots: 8, seed: 6)
        let first = simulation.run(job: JobID("again"), images: 200)
        let second = simulation.run(job: JobID("again"), images: 200)
        #expect(first.jobSeconds == second.jobSeconds && first.attempts == second.attempts && first.acceptedBy == second.acceptedBy)
        let other = simulation.run(job: JobID("other"), images: 200)
        #expect(other.attempts != first.attempts)
    }
}
