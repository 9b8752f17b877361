/// Power of two choices: draw two different nodes uniformly at random and take the one whose
/// advertised ``NodeState/pressure`` (load plus busy and queued tasks per slot) is lower; a tie
/// is broken at random.
///
/// A node that advertises nothing (``PlacementCandidate/state`` `nil`: a node that has not told yet) cannot
/// be compared: when either drawn node is unknown the first draw is taken, so among unknown
/// nodes the choice is uniform, exactly ``RandomPlacement``.
///
/// Configuration name: `p2c`.
public struct PowerOfTwoChoicesPlacement: Placement, Hashable {
    public init() {}

    /// Without states: uniformly at random (one draw).
    public func choose(
        for task: TaskRequest, among nodes: [NodeID], tried: [NodeID], using generator: inout some RandomNumberGenerator
    ) -> Int {
        Int.random(in: 0..<nodes.count, using: &generator)
    }

    public func choose(
        for task: TaskRequest, among candidates: [PlacementCandidate], tried: [NodeID],
        using generator: inout some RandomNumberGenerator
    ) -> Int {
        self.choose(for: task, amongCount: candidates.count, candidate: { candidates[$0] }, tried: tried, using: &generator)
    }

    /// Looks at the two drawn candidates only: O(1).
    public func choose(
        for task: TaskRequest, amongCount count: Int, candidate: (Int) -> PlacementCandidate, tried: [NodeID],
        using generator: inout some RandomNumberGenerator
    ) -> Int {
        guard count > 1 else { return 0 }
        let first = Int.random(in: 0..<count, using: &generator)
        var second = Int.random(in: 0..<(count - 1), using: &generator)
        if second >= first { second += 1 }
        guard let a = candidate(first).state?.pressure, let b = candidate(second).state?.pressure else { return first }
        if a < b { return first }
        if b < a { return second }
        return Bool.random(using: &generator) ? first : second
    }
}
