/// The server's handle on one node: "run this task".
///
/// ``InProcessTransport`` connects to nodes in the same process; the gRPC transport
/// (`DistributedImagingGRPC`) connects over the network. The server never knows which.
public protocol NodeConnection: Sendable {
    /// The node's name.
    var node: NodeID { get }

    /// How many tasks the node runs at once, when known (`nil` when not: the server then
    /// assumes ``NodeConfiguration/defaultMaxConcurrentTasks``).
    ///
    /// The server keeps at most its ``ServerConfiguration/nodeRoom`` per slot of the node's tasks
    /// on it (by default twice this many: its slots plus a queue as long), so a node that stops
    /// answering cannot hold more than that.
    var slots: Int? { get }

    /// What the node says about itself now — policy, load, busy slots, queue — read by the server
    /// on every placement for load-aware placements; `nil` when the connection cannot tell (the
    /// default; a ``MemberConnection`` reports what its node last advertised).
    var advertisedState: NodeState? { get }

    /// Asks the node to run `task` and waits for its answer.
    ///
    /// A node that declines answers with a ``TaskReceipt`` whose status is ``TaskStatus/rejected``;
    /// a task that ran and failed answers ``TaskStatus/failed``.
    ///
    /// - Throws: when the node cannot be reached or the call is cut (the server then treats the
    ///   attempt as lost and may place the task elsewhere).
    func run(_ task: TaskRequest) async throws -> TaskReceipt
}

extension NodeConnection {
    /// Unknown by default.
    public var slots: Int? { nil }

    /// Unknown by default.
    public var advertisedState: NodeState? { nil }
}

/// What a node offers to the transport: the node role implements it, a transport server calls it.
public protocol TaskExecutor: Sendable {
    /// The node's name.
    var node: NodeID { get }

    /// How many tasks the executor runs at once, when known.
    var slots: Int? { get }

    /// What the executor says about itself now (policy, load, busy slots, queue), when known.
    var advertisedState: NodeState? { get }

    /// Decides on `task` (accept or reject) and, when accepted, runs it to completion.
    func execute(_ task: TaskRequest) async -> TaskReceipt
}

extension TaskExecutor {
    /// Unknown by default.
    public var slots: Int? { nil }

    /// Unknown by default.
    public var advertisedState: NodeState? { nil }
}
