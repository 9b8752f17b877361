import Testing

@testable import DistributedImaging

/// `choose(for:amongCount:candidate:…)` — how the simulation places among 10,000 nodes in O(1) —
/// must choose exactly as the array version with the same random stream.
@Suite("Placement over candidates produced on demand")
struct LazyPlacementTests {
    @Test("random, p2c, least-loaded and untried-first choose the same index both ways", arguments: PlacementStrategy.allCases)
    func sameChoice(strategy: PlacementStrategy) {
        let placement = strategy.makePlacement()
        var states = SeededRandomNumberGenerator(seed: 9)
        for round in 0..<500 {
            let count = Int.random(in: 1...12, using: &states)
            let candidates = (0..<count).map { index in
                PlacementCandidate(
                    node: NodeID("n\(index)"),
                    state: NodeState(
                        policy: .optional, load: Double(Int.random(in: 0...4, using: &states)) / 4, slots: 2,
                        busySlots: Int.random(in: 0...2, using: &states), queueLength: Int.random(in: 0...2, using: &states)))
            }
            let tried = (0..<Int.random(in: 0...3, using: &states)).map { _ in candidates[Int.random(in: 0..<count, using: &states)].node }
            let task = TaskRequest(jobID: JobID("j"), taskIndex: round, inputPath: "", outputPath: "", pipeline: "identity")
            var a = SeededRandomNumberGenerator(seed: UInt64(round))
            var b = a
            var looked = 0
            let eager = placement.choose(for: task, among: candidates, tried: tried, using: &a)
            let lazy = placement.choose(
                for: task, amongCount: count, candidate: { looked += 1; return candidates[$0] }, tried: tried, using: &b)
            #expect(eager == lazy)
            #expect(a == b)
            // random looks at no candidate, p2c at two at most: O(1) whatever the count.
            if strategy == .random { #expect(looked == 0) }
            if strategy == .p2c { #expect(looked <= 2) }
        }
    }
}
