/// Least loaded: the node with the lowest advertised ``NodeState/pressure`` (load plus busy and
/// queued tasks per slot); ties are broken uniformly at random.
///
/// Nodes that advertise nothing (``PlacementCandidate/state`` `nil`) are taken only when no node
/// advertises, uniformly at random then. Under fixed loads this sends every task to the least
/// loaded node until its slots and queue fill up, so it suits clusters whose loads change.
///
/// Configuration name: `least-loaded`.
public struct LeastLoadedPlacement: Placement, Hashable {
    public init() {}

    /// Without states: uniformly at random.
    public func choose(
        for task: TaskRequest, among nodes: [NodeID], tried: [NodeID], using generator: inout some RandomNumberGenerator
    ) -> Int {
        Int.random(in: 0..<nodes.count, using: &generator)
    }

    public func choose(
        for task: TaskRequest, among candidates: [PlacementCandidate], tried: [NodeID],
        using generator: inout some RandomNumberGenerator
    ) -> Int {
        var best: [Int] = []
        var lowest = Double.infinity
        for (index, candidate) in candidates.enumerated() {
            guard let pressure = candidate.state?.pressure else { continue }
            if pressure < lowest {
                lowest = pressure
                best = [index]
            } else if pressure == lowest {
                best.append(index)
            }
        }
        if best.isEmpty { return Int.random(in: 0..<candidates.count, using: &generator) }
        return best.count == 1 ? best[0] : best[Int.random(in: 0..<best.count, using: &generator)]
    }
}
