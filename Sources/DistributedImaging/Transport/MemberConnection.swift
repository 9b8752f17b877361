/// A connection to a remote node that a ``NodeMembership`` opens, health-checks and closes.
///
/// A network transport implements it beside ``NodeConnection`` (the gRPC transport's
/// `GRPCNodeConnection` does) and gives the membership a function that opens one per node.
public protocol MemberConnection: NodeConnection, AnyObject {
    /// Where the node is reached, as the transport writes addresses (`HOST:PORT`); a node that
    /// registers again at another address gets a new connection.
    var addressDescription: String { get }

    /// Carries the connection's calls until ``close()`` and the calls in flight finish. Calls
    /// made before it runs wait for it.
    func runConnections() async throws

    /// Asks the node whether it answers, waiting at most `timeout`.
    ///
    /// - Returns: The slots the node advertises in its answer, when it says.
    /// - Throws: ``DistributedImagingError`` with code `unavailable` or `timedOut` when the node
    ///   does not answer; any other error counts as an answer (an older node, another token).
    func checkHealth(timeout: Duration) async throws -> Int?

    /// Records the slots the node advertised (ignored unless positive).
    func updateSlots(_ slots: Int)

    /// Records what the node advertised of itself (its registration or latest heartbeat), which
    /// ``NodeConnection/advertisedState`` then returns; `nil` forgets it.
    func updateAdvertisedState(_ state: NodeState?)

    /// Fails every call in flight and every later call with `unavailable` naming `reason`, so
    /// that the server places those tasks again at once.
    func drop(reason: String)

    /// Stops accepting calls; ``runConnections()`` returns once calls in flight finish.
    func close()
}
