/// Where a server finds the nodes to place tasks on: read on every placement, so a running job
/// sees nodes join and leave.
///
/// ``StaticNodeDirectory`` is a fixed list (the embedded cluster, tests); ``NodeMembership``
/// implements it with configured and registered nodes, over any transport's connections.
public protocol NodeDirectory: Sendable {
    /// The nodes to place on now; empty while there are none.
    func connections() -> [any NodeConnection]
}

/// A fixed list of nodes.
public struct StaticNodeDirectory: NodeDirectory {
    private let nodes: [any NodeConnection]

    /// A directory of `nodes`.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` when two nodes share
    ///   a name.
    public init(_ nodes: [any NodeConnection]) throws {
        var seen: Set<NodeID> = []
        for node in nodes where !seen.insert(node.node).inserted {
            throw DistributedImagingError.invalidConfiguration("two nodes are named '\(node.node)'")
        }
        self.nodes = nodes
    }

    public func connections() -> [any NodeConnection] { self.nodes }
}
