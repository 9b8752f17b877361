import Synchronization

/// Connects a server to nodes in the same process: a registry of ``TaskExecutor``s by name.
///
/// A connection looks its node up on every call, so removing a node makes its connection throw
/// `unavailable` — the same failure a network transport reports for an unreachable node.
///
/// ```swift
/// let transport = InProcessTransport()
/// transport.register(node)
/// let server = try ImagingServer(storage: storage, nodes: transport.connections(), logger: logger)
/// ```
public final class InProcessTransport: Sendable {
    private let executors = Mutex<[NodeID: any TaskExecutor]>([:])
    private let order = Mutex<[NodeID]>([])

    /// An empty transport.
    public init() {}

    /// Makes `executor` reachable under its ``TaskExecutor/node`` name (replacing any other).
    public func register(_ executor: any TaskExecutor) {
        self.executors.withLock { $0[executor.node] = executor }
        self.order.withLock { order in
            if !order.contains(executor.node) { order.append(executor.node) }
        }
    }

    /// Makes `node` unreachable: calls through its connections throw `unavailable`.
    public func unregister(_ node: NodeID) {
        self.executors.withLock { _ = $0.removeValue(forKey: node) }
    }

    /// A connection to `node` (registered or not yet).
    public func connection(to node: NodeID) -> Connection {
        Connection(node: node, transport: self)
    }

    /// Connections to every node registered so far, in registration order.
    public func connections() -> [Connection] {
        self.order.withLock { $0 }.map { self.connection(to: $0) }
    }

    /// The server's handle on one in-process node.
    public struct Connection: NodeConnection {
        /// The node's name.
        public let node: NodeID
        private let transport: InProcessTransport

        init(node: NodeID, transport: InProcessTransport) {
            self.node = node
            self.transport = transport
        }

        /// The registered executor's slots, when it is registered and says.
        public var slots: Int? { self.transport.executors.withLock { $0[self.node] }?.slots }

        /// The registered executor's state now, when it is registered and says.
        public var advertisedState: NodeState? { self.transport.executors.withLock { $0[self.node] }?.advertisedState }

        /// Runs `task` on the node, in the caller's task.
        ///
        /// - Throws: ``DistributedImagingError`` with code `unavailable` when the node is not
        ///   registered.
        public func run(_ task: TaskRequest) async throws -> TaskReceipt {
            guard let executor = self.transport.executors.withLock({ $0[self.node] }) else {
                throw DistributedImagingError.unavailable("node '\(self.node)' is not reachable in process")
            }
            return await executor.execute(task)
        }
    }
}
