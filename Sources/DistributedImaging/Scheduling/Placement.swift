/// The server-side choice of the node to try next for a task.
///
/// Called once per attempt; a rejected or lost task is placed again with the nodes tried so far
/// in `tried`. A placement that reads the nodes' advertised state implements
/// the candidate version of `choose`; by default it calls the node-name version.
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

    /// Picks a node for `task`, knowing what each node advertises.
    ///
    /// ``ImagingServer`` calls this one. The default ignores the states and calls the
    /// node-name version.
    ///
    /// - Parameters:
    ///   - task: The task to place.
    ///   - candidates: The nodes to choose from, with their advertised state; never empty.
    ///   - tried: The nodes already tried for this task, in order (repeats included).
    ///   - generator: The source of randomness.
    /// - Returns: An index into `candidates`.
    func choose(
        for task: TaskRequest, among candidates: [PlacementCandidate], tried: [NodeID],
        using generator: inout some RandomNumberGenerator
    ) -> Int

    /// Picks a node for `task` among `count` candidates that `candidate` produces on demand, so a
    /// placement that looks at a few of them (``RandomPlacement``: one, ``PowerOfTwoChoicesPlacement``:
    /// two) costs O(1) however many nodes there are.
    ///
    /// Must draw from `generator` exactly as the array version does, so both give the same choice.
    /// The default builds the array and calls the array version.
    func choose(
        for task: TaskRequest, amongCount count: Int, candidate: (Int) -> PlacementCandidate, tried: [NodeID],
        using generator: inout some RandomNumberGenerator
    ) -> Int
}

/// A node a task may be placed on, with what it last said about itself.
public struct PlacementCandidate: Sendable, Hashable {
    /// The node.
    public var node: NodeID
    /// Its advertised state, with at least the tasks the server holds on it counted as busy or
    /// queued (``NodeState/holding(atLeast:)``); `nil` when the node's connection does not report one.
    public var state: NodeState?

    /// A candidate.
    public init(node: NodeID, state: NodeState? = nil) {
        self.node = node
        self.state = state
    }
}

extension Placement {
    public func choose(
        for task: TaskRequest, among candidates: [PlacementCandidate], tried: [NodeID],
        using generator: inout some RandomNumberGenerator
    ) -> Int {
        self.choose(for: task, among: candidates.map(\.node), tried: tried, using: &generator)
    }
}

extension Placement {
    public func choose(
        for task: TaskRequest, amongCount count: Int, candidate: (Int) -> PlacementCandidate, tried: [NodeID],
        using generator: inout some RandomNumberGenerator
    ) -> Int {
        self.choose(for: task, among: (0..<count).map(candidate), tried: tried, using: &generator)
    }
}

extension Placement where Self == RandomPlacement {
    /// The seed's rule: a node chosen uniformly at random, every attempt.
    public static var random: RandomPlacement { RandomPlacement() }
}

extension Placement where Self == PowerOfTwoChoicesPlacement {
    /// Two nodes drawn at random, the one with the lower advertised ``NodeState/pressure`` taken.
    public static var powerOfTwoChoices: PowerOfTwoChoicesPlacement { PowerOfTwoChoicesPlacement() }
}

extension Placement where Self == LeastLoadedPlacement {
    /// The node with the lowest advertised ``NodeState/pressure``.
    public static var leastLoaded: LeastLoadedPlacement { LeastLoadedPlacement() }
}

extension Placement where Self == UntriedFirstPlacement {
    /// Uniformly at random among the nodes this task has not tried in the current round.
    public static var untriedFirst: UntriedFirstPlacement { UntriedFirstPlacement() }
}
