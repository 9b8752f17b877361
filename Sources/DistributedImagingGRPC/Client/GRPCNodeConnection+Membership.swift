public import DistributedImaging

extension GRPCNodeConnection: MemberConnection {
    /// ``address`` as text.
    public var addressDescription: String { "\(self.address)" }

    /// A `HealthService` call: the slots the node advertises in its status, when it says.
    /// Its answer's node state, when in range (``DistributedImaging/NodeMembership/checkedState(_:)``),
    /// is recorded as the ``advertisedState``: so a configured node that never registers
    /// advertises its state too, as of the last health check.
    public func checkHealth(timeout: Duration) async throws -> Int? {
        let node = try await self.status(timeout: timeout).node
        if let node, let state = NodeMembership.checkedState(node) { self.updateAdvertisedState(state) }
        return node?.maxConcurrentTasks
    }

    /// The ``DistributedImaging/NodeMembership/Connect`` of the gRPC transport: a connection to
    /// the node's `NodeService`, and to its task port when it advertised one (and `security` has
    /// neither TLS nor token).
    ///
    /// A registered node's address must be `HOST:PORT` with a host and port the server can call
    /// (not a wildcard, not port 0); a configured node's is checked by ``ServerSettings``.
    ///
    /// - Parameters:
    ///   - timeout: The longest one `RunTask` call may take; `nil` for no limit.
    ///   - security: The token and TLS settings for calls to nodes (default none).
    public static func connector(
        timeout: Duration? = nil, security: PeerSecurity = .none
    ) -> NodeMembership.Connect {
        { node in
            let address: PeerAddress
            if node.source == .registered {
                address = try Self.callable(
                    node.address, key: "node '\(node.name)' advertised address",
                    refusal: { "node '\(node.name)' advertised \($0), which cannot be called: pass --advertise HOST:PORT" })
            } else {
                address = try PeerAddress(parsing: node.address, key: "server.nodes[\(node.name)].address")
            }
            let taskAddress = try node.taskAddress.map { advertised in
                try Self.callable(
                    advertised, key: "node '\(node.name)' advertised task address",
                    refusal: { "node '\(node.name)' advertised the task address \($0), which cannot be called" })
            }
            return try GRPCNodeConnection(
                node: node.name, address: address, timeout: timeout, security: security, slots: node.maxConcurrentTasks,
                taskAddress: taskAddress)
        }
    }

    /// `text` parsed, and refused (`invalidArgument`, with `refusal`'s message) when a server
    /// cannot call it: a wildcard host or port 0.
    private static func callable(
        _ text: String, key: String, refusal: (PeerAddress) -> String
    ) throws -> PeerAddress {
        let address = try PeerAddress(parsing: text, key: key)
        guard !address.isWildcard, address.port != 0 else {
            throw DistributedImagingError(code: .invalidArgument, message: refusal(address))
        }
        return address
    }
}
