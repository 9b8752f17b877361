import DistributedImaging
import Logging
import ServiceLifecycle
import Synchronization

/// The server's directory of nodes: those listed in its configuration (static) and those that
/// registered over `dip.v1.RegistryService`, each with its own ``GRPCNodeConnection``.
///
/// As a `Service`, ``run()`` runs every node's connection until graceful shutdown. A registered
/// node that has not registered again within ``expiry`` is left out of ``connections()`` until it
/// does; registering again under the same name with another address replaces the connection.
/// Static nodes are health-checked (`HealthService`) every ``heartbeatInterval``; one that does
/// not answer within the interval is left out until it answers again (unless every node is out:
/// then the static ones are listed anyway, since they may just be starting).
public final class NodeRegistry: Service, Sendable {
    /// How often nodes are asked to register again.
    public let heartbeatInterval: Duration
    /// How long a registration lasts without a heartbeat.
    public let expiry: Duration

    private struct Entry {
        var advertisement: NodeAdvertisement
        var connection: GRPCNodeConnection
        var lastSeen: ContinuousClock.Instant
        /// For static nodes: whether the last health check was answered.
        var answering = true
    }

    private struct State {
        var entries: [NodeID: Entry] = [:]
        var closed = false
    }

    private let state = Mutex(State())
    private let started: AsyncStream<GRPCNodeConnection>
    private let starter: AsyncStream<GRPCNodeConnection>.Continuation
    private let taskTimeout: Duration?
    private let security: PeerSecurity
    private let logger: Logger

    /// Creates a registry.
    ///
    /// - Parameters:
    ///   - staticNodes: Nodes from the configuration (name and address; the rest is informative).
    ///   - heartbeatInterval: How often registered nodes are asked to register again.
    ///   - expiry: How long a registration lasts without one (default three intervals).
    ///   - taskTimeout: The longest one `RunTask` call may take; `nil` for no limit.
    ///   - security: The token and TLS settings for calls to nodes (default none).
    ///   - logger: Where registrations are logged (`info`).
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration` for
    ///   two static nodes with one name or an address that cannot be called.
    public init(
        staticNodes: [NodeAdvertisement] = [],
        heartbeatInterval: Duration = .seconds(5),
        expiry: Duration? = nil,
        taskTimeout: Duration? = nil,
        security: PeerSecurity = .none,
        logger: Logger
    ) throws {
        self.heartbeatInterval = heartbeatInterval
        self.expiry = expiry ?? heartbeatInterval * 3
        self.taskTimeout = taskTimeout
        self.security = security
        self.logger = logger
        (self.started, self.starter) = AsyncStream.makeStream()
        var entries: [NodeID: Entry] = [:]
        for node in staticNodes {
            guard entries[node.name] == nil else {
                throw DistributedImagingError(
                    code: .invalidConfiguration, message: "server.nodes: two nodes are named '\(node.name)'")
            }
            let address = try PeerAddress(parsing: node.address, key: "server.nodes[\(node.name)].address")
            let connection = try GRPCNodeConnection(node: node.name, address: address, timeout: taskTimeout, security: security)
            var advertisement = node
            advertisement.source = .static
            entries[node.name] = Entry(advertisement: advertisement, connection: connection, lastSeen: .now)
            self.starter.yield(connection)
        }
        self.state.withLock { $0.entries = entries }
    }

    /// The connections of every live node, sorted by name.
    public func connections() -> [any NodeConnection] {
        self.liveEntries().map(\.connection)
    }

    /// What every live node advertised, sorted by name.
    public func advertisements() -> [NodeAdvertisement] {
        self.liveEntries().map(\.advertisement)
    }

    private func liveEntries() -> [Entry] {
        let now = ContinuousClock.now
        return self.state.withLock { state in
            let live = state.entries.values.filter { entry in
                entry.advertisement.source == .static ? entry.answering : now - entry.lastSeen <= self.expiry
            }
            if !live.isEmpty { return Array(live) }
            return state.entries.values.filter { $0.advertisement.source == .static }
        }.sorted { $0.advertisement.name < $1.advertisement.name }
    }

    /// Adds or refreshes a node.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidArgument` for a bad
    ///   name (the rule of configured names), a load outside 0…1, a slot count below 0 or above 1 000 000 (0: not advertised),
    ///   or an address that does not parse or cannot be called; `unavailable` once the registry
    ///   shut down.
    public func register(_ node: NodeAdvertisement) throws {
        if let problem = NodeConfiguration.nameProblem(node.name.rawValue) {
            throw DistributedImagingError(code: .invalidArgument, message: problem)
        }
        guard node.load.isFinite, (0...1).contains(node.load) else {
            throw DistributedImagingError(code: .invalidArgument, message: "load must be in 0…1, not \(node.load)")
        }
        guard (0...Self.maxSlots).contains(node.maxConcurrentTasks) else {
            throw DistributedImagingError(
                code: .invalidArgument,
                message: "max_concurrent_tasks must be in 1…\(Self.maxSlots) (0 when not advertised), not \(node.maxConcurrentTasks)")
        }
        guard node.activeTasks >= 0 else {
            throw DistributedImagingError(code: .invalidArgument, message: "active_tasks must be ≥ 0, not \(node.activeTasks)")
        }
        let address: PeerAddress
        do {
            address = try PeerAddress(parsing: node.address, key: "node '\(node.name)' advertised address")
        } catch let error as DistributedImagingError {
            throw DistributedImagingError(code: .invalidArgument, message: error.message)
        }
        guard !address.isWildcard, address.port != 0 else {
            throw DistributedImagingError(
                code: .invalidArgument,
                message: "node '\(node.name)' advertised \(address), which cannot be called: pass --advertise HOST:PORT")
        }
        var advertisement = node
        advertisement.source = .registered
        advertisement.address = "\(address)"
        let (replaced, new): (GRPCNodeConnection?, GRPCNodeConnection?) = try self.state.withLock { state in
            guard !state.closed else {
                throw DistributedImagingError(code: .unavailable, message: "the server is shutting down")
            }
            if var entry = state.entries[node.name], entry.connection.address == address {
                entry.advertisement = advertisement
                entry.lastSeen = .now
                state.entries[node.name] = entry
                return (nil, nil)
            }
            let connection = try GRPCNodeConnection(
                node: node.name, address: address, timeout: self.taskTimeout, security: self.security)
            let old = state.entries[node.name]?.connection
            state.entries[node.name] = Entry(advertisement: advertisement, connection: connection, lastSeen: .now)
            return (old, connection)
        }
        if let new {
            self.starter.yield(new)
            self.logger.info(
                "node registered",
                metadata: ["dip.node.id": "\(node.name)", "address": "\(address)", "replaced": "\(replaced != nil)"])
        }
        replaced?.close()
    }

    /// The most task slots a node may advertise.
    static let maxSlots = 1_000_000

    /// Removes a registered node; static nodes and unknown names are left alone.
    public func deregister(_ name: NodeID) {
        let removed: GRPCNodeConnection? = self.state.withLock { state in
            guard let entry = state.entries[name], entry.advertisement.source == .registered else { return nil }
            state.entries[name] = nil
            return entry.connection
        }
        if let removed {
            self.logger.info("node deregistered", metadata: ["dip.node.id": "\(name)"])
            removed.close()
        }
    }

    /// Runs the nodes' connections until graceful shutdown (or ``beginGracefulShutdown()``).
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask {
                try? await cancelWhenGracefulShutdown { try await self.checkStaticNodes() }
            }
            await withGracefulShutdownHandler {
                for await connection in self.started {
                    group.addTask {
                        do {
                            try await connection.runConnections()
                        } catch {
                            self.logger.debug(
                                "node connection ended", metadata: ["dip.node.id": "\(connection.node)", "error": "\(error)"])
                        }
                    }
                }
            } onGracefulShutdown: {
                self.beginGracefulShutdown()
            }
        }
    }

    /// Health-checks the static nodes every heartbeat interval until cancelled.
    private func checkStaticNodes() async throws {
        while true {
            let statics = self.state.withLock { state in
                state.closed ? [] : state.entries.values.filter { $0.advertisement.source == .static }.map(\.connection)
            }
            if statics.isEmpty && self.state.withLock({ $0.closed }) { return }
            await withTaskGroup(of: Void.self) { group in
                for connection in statics {
                    group.addTask {
                        let answered = (try? await connection.status(timeout: self.heartbeatInterval)) != nil
                        self.recordHealth(of: connection.node, answered: answered)
                    }
                }
            }
            try await Task.sleep(for: self.heartbeatInterval)
        }
    }

    private func recordHealth(of node: NodeID, answered: Bool) {
        let changed = self.state.withLock { state -> Bool in
            guard var entry = state.entries[node], entry.answering != answered else { return false }
            entry.answering = answered
            if answered { entry.lastSeen = .now }
            state.entries[node] = entry
            return true
        }
        guard changed else { return }
        if answered {
            self.logger.info("static node answers again", metadata: ["dip.node.id": "\(node)"])
        } else {
            self.logger.warning(
                "static node does not answer its health check; not placing on it", metadata: ["dip.node.id": "\(node)"])
        }
    }

    /// Refuses new registrations and closes every connection once its calls finish.
    public func beginGracefulShutdown() {
        let connections = self.state.withLock { state in
            state.closed = true
            return state.entries.values.map(\.connection)
        }
        self.starter.finish()
        for connection in connections { connection.close() }
    }
}
