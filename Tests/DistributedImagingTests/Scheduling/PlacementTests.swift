import Logging
import Testing

@testable import DistributedImaging

@Suite("Placements")
struct PlacementTests {
    static let task = TaskRequest(jobID: JobID("job"), taskIndex: 0, inputPath: "in/a.png", outputPath: "out/a.png", pipeline: "identity")
    static let nodes = (1...4).map { NodeID("n\($0)") }
    static let draws = 20_000

    static func candidates(loads: [Double], slots: Int? = nil, busy: [Int]? = nil, queue: [Int]? = nil) -> [PlacementCandidate] {
        loads.indices.map { index in
            PlacementCandidate(
                node: Self.nodes[index],
                state: NodeState(
                    policy: .optional, load: loads[index], slots: slots, busySlots: busy?[index] ?? 0, queueLength: queue?[index] ?? 0))
        }
    }

    /// How often each index is chosen over `draws` calls.
    static func frequencies(
        _ placement: some Placement, _ candidates: [PlacementCandidate], tried: [NodeID] = [], seed: UInt64
    ) -> [Double] {
        var generator = SeededRandomNumberGenerator(seed: seed)
        var counts = Array(repeating: 0, count: candidates.count)
        for _ in 0..<Self.draws {
            counts[placement.choose(for: Self.task, among: candidates, tried: tried, using: &generator)] += 1
        }
        return counts.map { Double($0) / Double(Self.draws) }
    }

    /// 5 binomial standard errors at p = 0.5 over `draws`: 0.018.
    static let tolerance = 5 * (0.25 / Double(draws)).squareRoot()

    @Test("random: uniform, ignores the states")
    func random() {
        let frequencies = Self.frequencies(RandomPlacement(), Self.candidates(loads: [0.1, 0.5, 0.2, 0.9]), seed: 1)
        for frequency in frequencies { #expect(abs(frequency - 0.25) <= Self.tolerance, "\(frequencies)") }
    }

    @Test("p2c: the lower of two different nodes; frequencies as the model's weights")
    func powerOfTwoChoices() throws {
        let loads = [0.1, 0.5, 0.2, 0.9]
        let frequencies = Self.frequencies(PowerOfTwoChoicesPlacement(), Self.candidates(loads: loads), seed: 2)
        let weights = try #require(SchedulingModel.attemptWeights(loads: loads, placement: .p2c))
        // Lowest load wins every pair it is in (1/2), the highest none.
        #expect(weights == [0.5, 1.0 / 6, 1.0 / 3, 0])
        #expect(frequencies[3] == 0, "the most loaded node never beats another")
        for (frequency, weight) in zip(frequencies, weights) { #expect(abs(frequency - weight) <= Self.tolerance, "\(frequencies)") }
    }

    @Test("p2c: equal loads, the shorter queue per slot wins")
    func powerOfTwoChoicesReadsTheQueue() {
        let candidates = Self.candidates(loads: [0.2, 0.2], slots: 8, busy: [8, 2], queue: [6, 0])
        let frequencies = Self.frequencies(PowerOfTwoChoicesPlacement(), candidates, seed: 3)
        #expect(frequencies == [0, 1])
    }

    @Test("p2c and least-loaded: nodes that advertise nothing are picked uniformly, like random")
    func unknownStatesFallBackToRandom() {
        let unknown = Self.nodes.map { PlacementCandidate(node: $0) }
        for (seed, placement) in [(4, PowerOfTwoChoicesPlacement() as any Placement), (5, LeastLoadedPlacement())] {
            let frequencies = Self.frequencies(placement, unknown, seed: UInt64(seed))
            for frequency in frequencies { #expect(abs(frequency - 0.25) <= Self.tolerance, "\(placement): \(frequencies)") }
        }
    }

    @Test("least-loaded: always the lowest pressure; ties at random")
    func leastLoaded() {
        #expect(Self.frequencies(LeastLoadedPlacement(), Self.candidates(loads: [0.5, 0.1, 0.2, 0.9]), seed: 6) == [0, 1, 0, 0])
        // An Optional node at load 1 never accepts: never preferred, however idle.
        #expect(NodeState(policy: .optional, load: 1).pressure == .infinity)
        #expect(NodeState(policy: .mandatory, load: 1).pressure == 1)
        // Load 0.1 with a full node (pressure 0.1 + 16/8) loses to load 0.5 idle.
        let busy = Self.candidates(loads: [0.5, 0.1], slots: 8, busy: [0, 8], queue: [0, 8])
        #expect(Self.frequencies(LeastLoadedPlacement(), busy, seed: 7) == [1, 0])
        let ties = Self.frequencies(LeastLoadedPlacement(), Self.candidates(loads: [0.2, 0.9, 0.2, 0.9]), seed: 8)
        #expect(ties[1] == 0 && ties[3] == 0)
        #expect(abs(ties[0] - 0.5) <= Self.tolerance && abs(ties[2] - 0.5) <= Self.tolerance, "\(ties)")
        // A node that advertises nothing is passed over while another advertises.
        var mixed = Self.candidates(loads: [0.9, 0.1])
        mixed[1].state = nil
        #expect(Self.frequencies(LeastLoadedPlacement(), mixed, seed: 9) == [1, 0])
    }

    @Test("untried-first: never back to a node tried in this round until every node was tried")
    func untriedFirst() {
        let placement = UntriedFirstPlacement()
        let candidates = Self.nodes.map { PlacementCandidate(node: $0) }
        let n = Self.nodes
        // After n1 rejected: uniform over the other three.
        let afterOne = Self.frequencies(placement, candidates, tried: [n[0]], seed: 10)
        #expect(afterOne[0] == 0)
        for frequency in afterOne.dropFirst() { #expect(abs(frequency - 1.0 / 3) <= Self.tolerance, "\(afterOne)") }
        #expect(Self.frequencies(placement, candidates, tried: [n[2], n[0], n[1]], seed: 11) == [0, 0, 0, 1])
        // A complete round starts another: any node, then not the first of the new round.
        let newRound = Self.frequencies(placement, candidates, tried: [n[0], n[1], n[2], n[3]], seed: 12)
        for frequency in newRound { #expect(abs(frequency - 0.25) <= Self.tolerance, "\(newRound)") }
        #expect(Self.frequencies(placement, candidates, tried: [n[0], n[1], n[2], n[3], n[1]], seed: 13)[1] == 0)
        // A tried node that is no longer a candidate (full, or gone) does not hold the round open.
        let three = Array(candidates.prefix(3))
        #expect(Self.frequencies(placement, three, tried: [n[3], n[0], n[1]], seed: 14) == [0, 0, 1])
    }

    @Test("configuration names", arguments: PlacementStrategy.allCases)
    func names(strategy: PlacementStrategy) throws {
        #expect(try PlacementStrategy(parsing: strategy.rawValue) == strategy)
        let placement = strategy.makePlacement()
        switch strategy {
        case .random: #expect(placement is RandomPlacement)
        case .p2c: #expect(placement is PowerOfTwoChoicesPlacement)
        case .leastLoaded: #expect(placement is LeastLoadedPlacement)
        case .untriedFirst: #expect(placement is UntriedFirstPlacement)
        }
    }

    @Test("an unknown placement name is refused, naming the key and the choices")
    func unknownName() {
        #expect(PlacementStrategy.defaultStrategy == .random)
        let error = #expect(throws: DistributedImagingError.self) { try PlacementStrategy(parsing: "round-robin") }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("server.placement") == true && error?.message.contains("p2c") == true)
    }

    @Test("an embedded node advertises its policy, load, slots and queue")
    func nodeAdvertises() throws {
        let storage = try SharedStorage(root: "/")
        let node = try ImagingNode(
            configuration: .init(name: "a", policy: .mandatory, load: 0.3, maxConcurrentTasks: 3), storage: storage,
            logger: .init(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let transport = InProcessTransport()
        transport.register(node)
        let state = try #require(transport.connection(to: NodeID("a")).advertisedState)
        #expect(state == NodeState(policy: .mandatory, load: 0.3, loadMode: .fixed, slots: 3, busySlots: 0, queueLength: 0))
        #expect(transport.connection(to: NodeID("missing")).advertisedState == nil)
    }

    /// The server hands the nodes' states to the placement: with p2c and two Optional nodes at
    /// loads 1 and 0, every task goes to the idle node at its first attempt (random placement
    /// would send half the first attempts to the node that always rejects). 12 tasks stay under
    /// the 16 the server keeps on one node, so the idle node always has room.
    @Test("the server places with the nodes' advertised states")
    func serverReadsStates() async throws {
        try await withTemporaryDirectory { root in
            _ = try TestImages.writePNGs(count: 12, into: "\(root)/in", size: 2)
            let nodes = [
                NodeConfiguration(name: "busy", policy: .optional, load: 1, delay: 0),
                NodeConfiguration(name: "idle", policy: .optional, load: 0, delay: 0),
            ]
            for (placement, seed) in [(PlacementStrategy.p2c, UInt64(21)), (.random, 21)] {
                let cluster = try LocalCluster(storageRoot: root, nodes: nodes, seed: seed, placement: placement.makePlacement())
                let receipt = try await cluster.submit(
                    JobRequest(inputDirectory: "in", outputDirectory: "out-\(placement)", pipeline: "identity"))
                #expect(receipt.status == .succeeded, "\(receipt.message)")
                let rejections = receipt.tasks.map(\.rejections).reduce(0, +)
                if placement == .p2c {
                    #expect(rejections == 0)
                    #expect(receipt.tasks.allSatisfy { $0.node == NodeID("idle") && $0.attempts == 1 })
                } else {
                    #expect(rejections > 0, "random placement tries the node that always rejects")
                }
            }
        }
    }
}
