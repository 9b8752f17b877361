/// The server-side choice of the node to try next for a task.
///
/// Called once per attempt; a rejected or lost task is placed again with the nodes tried so far
/// in `tried`.
public protocol Placement: Sendable {
    /// Picks a node for `task`.
    ///
    /// - Parameters:
    ///   - task: The task to place (its ``TaskRequest/attempt`` is the attempt being made).
    ///   - nodes: The nodes to choose from; never empty.
    ///   - tried: The nodes already tried for this task, in order (repeats included).
    ///   - generator: The source of randomness.
    /// - Returns: An index into `nodes`. Any other value is a programming error: ``ImagingServer``
    ///   fails the task with a message naming the index rather than guess a node.
    func choose(
        for task: TaskRequest, among nodes: [NodeID], tried: [NodeID], using generator: inout some RandomNumberGenerator
    ) -> Int
}

extension Placement where Self == RandomPlacement {
    /// The seed's rule: a node chosen uniformly at random, every attempt.
    public static var random: RandomPlacement { RandomPlacement() }
}
