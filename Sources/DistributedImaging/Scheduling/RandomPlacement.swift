/// The seed's placement: every attempt picks a node uniformly at random from all nodes; the node
/// that just rejected the task may be picked again.
public struct RandomPlacement: Placement, Hashable {
    public init() {}

    public func choose(
        for task: TaskRequest, among nodes: [NodeID], tried: [NodeID], using generator: inout some RandomNumberGenerator
    ) -> Int {
        Int.random(in: 0..<nodes.count, using: &generator)
    }

    /// One draw, whatever the count: O(1).
    public func choose(
        for task: TaskRequest, amongCount count: Int, candidate: (Int) -> PlacementCandidate, tried: [NodeID],
        using generator: inout some RandomNumberGenerator
    ) -> Int {
        Int.random(in: 0..<count, using: &generator)
    }
}
