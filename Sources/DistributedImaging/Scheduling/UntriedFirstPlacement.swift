/// Never back to a node that just rejected the task until every node was tried: uniformly at
/// random among the candidates this task has not tried in the current round. A round ends once
/// every candidate was tried since the round began; the next one starts afresh.
///
/// The first attempt is uniform, like ``RandomPlacement``; under Optional it saves the attempts
/// random placement spends returning to a node that rejected.
///
/// Configuration name: `untried-first`.
public struct UntriedFirstPlacement: Placement, Hashable {
    public init() {}

    public func choose(
        for task: TaskRequest, among nodes: [NodeID], tried: [NodeID], using generator: inout some RandomNumberGenerator
    ) -> Int {
        guard !tried.isEmpty, nodes.count > 1 else { return Int.random(in: 0..<nodes.count, using: &generator) }
        let candidates = Set(nodes)
        // The nodes tried in the current round: walk the attempts, starting a new round each
        // time every candidate has been tried.
        var round: Set<NodeID> = []
        for node in tried where candidates.contains(node) {
            round.insert(node)
            if round.count == candidates.count { round.removeAll(keepingCapacity: true) }
        }
        let untried = nodes.indices.filter { !round.contains(nodes[$0]) }
        return untried[Int.random(in: 0..<untried.count, using: &generator)]
    }
}
