public import Logging
public import ServiceLifecycle
import Synchronization

/// The server's directory of nodes: those listed in its configuration (static) and those that
/// registered over the transport (gRPC's `dip.v1.RegistryService` calls ``admit(_:)``), each with
/// its own ``MemberConnection``, opened by the transport's `connect` function.
///
/// As a `Service`, ``run()`` runs every node's connection until graceful shutdown. A registered
/// node that has not registered again within ``expiry`` is left out of ``connections()`` until it
/// does; registering again under the same name with another address replaces the connection.
///
/// Every node, static or registered, is health-checked (``MemberConnection/checkHealth(timeout:)``) every
/// ``heartbeatInterval``. One that does not answer within the interval is left out of placement
/// until it answers again (unless every node is out: then the static ones are listed anyway, since
/// they may just be starting). One that misses ``missedChecksBeforeDrop`` checks in a row (15 s
/// with the default 5 s interval) is *dropped*: the calls it holds fail at once as lost attempts,
/// so the server places those tasks again, and a registered node must register anew. A node that
/// registers over the wire (``admit(_:)``) is checked before it is listed, so an address that
/// accepts connections but never answers never receives work.
public final class NodeMembership: NodeDirectory, Service, Sendable {
    /// How often nodes are asked to register again.
    public let heartbeatInterval: Duration
    /// How long a registration lasts without a heartbeat.
    public let expiry: Duration
    /// Health checks missed in a row after which a node is dropped and its calls fail.
    public static let missedChecksBeforeDrop = 3
    /// How long a registering node has to answer its admission health check: the heartbeat
    /// interval, but at least 5 s (a new connection on a loaded machine can take seconds) and at
    /// most 8 s (the node's registration call gives up after 10 s).
    public var admissionTimeout: Duration {
        min(max(self.heartbeatInterval, .seconds(5)), .seconds(8))
    }

    private struct Entry {
        var advertisement: NodeAdvertisement
        var connection: any MemberConnection
        var lastSeen: ContinuousClock.Instant
        /// Whether the last health check was answered.
        var answering = true
        /// Health checks missed in a row.
        var missed = 0
    }

    private struct State {
        var entries: [NodeID: Entry] = [:]
        var closed = false
    }

    private let state = Mutex(State())
    private let started: AsyncStream<any MemberConnection>
    private let starter: AsyncStream<any MemberConnection>.Continuation
    private let connect: Connect
    private let logger: Logger
    private let now: @Sendable () -> ContinuousClock.Instant

    /// Opens a connection to a node: given its advertisement (``NodeAdvertisement/source`` tells
    /// a configured node from a registered one; ``NodeAdvertisement/maxConcurrentTasks`` is its
    /// slots, 0 when unknown), nothing dialled yet.
    ///
    /// It throws ``DistributedImagingError`` naming the address when the address cannot be
    /// called (for a registered node, also a wildcard host or port 0).
    public typealias Connect = @Sendable (NodeAdvertisement) throws -> any MemberConnection

    /// Creates a membership.
    ///
    /// - Parameters:
    ///   - staticNodes: Nodes from the configuration (name and address; the rest is informative).
    ///   - heartbeatInterval: How often registered nodes are asked to register again.
    ///   - expiry: How long a registration lasts without one (default three intervals).
    ///   - logger: Where registrations are logged (`info`).
    ///   - now: The clock's reading for expiry (tests pass a manual one; default `ContinuousClock.now`).
    ///   - connect: Opens a connection to a node (the transport's).
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` for two static nodes
    ///   with one name, or as `connect` for an address that cannot be called.
    public init(
        staticNodes: [NodeAdvertisement] = [],
        heartbeatInterval: Duration = .seconds(5),
        expiry: Duration? = nil,
        logger: Logger,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
        connect: @escaping Connect
    ) throws {
        self.heartbeatInterval = heartbeatInterval
        self.expiry = expiry ?? heartbeatInterval * 3
        self.connect = connect
        self.logger = logger
        self.now = now
        (self.started, self.starter) = AsyncStream.makeStream()
        var entries: [NodeID: Entry] = [:]
        for node in staticNodes {
            guard entries[node.name] == nil else {
                throw DistributedImagingError(
                    code: .invalidConfiguration, message: "server.nodes: two nodes are named '\(node.name)'")
            }
            var advertisement = node
            advertisement.source = .static
            let connection = try connect(advertisement)
            advertisement.address = connection.addressDescription
            entries[node.name] = Entry(advertisement: advertisement, connection: connection, lastSeen: now())
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

    /// What every listed node advertised, live or not, sorted by name; a node that does not
    /// answer its health check, or whose registration lapsed, is marked ``NodeAdvertisement/suspect``.
    public func statusAdvertisements() -> [NodeAdvertisement] {
        let now = self.now()
        return self.state.withLock { state in
            state.entries.values.map { entry in
                var advertisement = entry.advertisement
                let lapsed = entry.advertisement.source == .registered && now - entry.lastSeen > self.expiry
                advertisement.suspect = !entry.answering || lapsed
                return advertisement
            }
        }.sorted { $0.name < $1.name }
    }

    private func liveEntries() -> [Entry] {
        let now = self.now()
        return self.state.withLock { state in
            let live = state.entries.values.filter { entry in
                entry.answering && (entry.advertisement.source == .static || now - entry.lastSeen <= self.expiry)
            }
            if !live.isEmpty { return Array(live) }
            return state.entries.values.filter { $0.advertisement.source == .static }
        }.sorted { $0.advertisement.name < $1.advertisement.name }
    }

    /// Checks a registration's values (the address is the transport's to check).
    private static func validate(_ node: NodeAdvertisement) throws {
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
        guard (0...Self.maxSlots).contains(node.activeTasks) else {
            throw DistributedImagingError(
                code: .invalidArgument, message: "active_tasks must be in 0…\(Self.maxSlots), not \(node.activeTasks)")
        }
        if let queued = node.queuedTasks, !(0...Self.maxQueuedTasks).contains(queued) {
            throw DistributedImagingError(
                code: .invalidArgument, message: "queued_tasks must be in 0…\(Self.maxQueuedTasks), not \(queued)")
        }
    }

    /// The state `node` advertised, when its load, slots and counts are in range (as a
    /// registration must have them); `nil` otherwise. For a transport that learns a node's state
    /// outside a registration (a health check's answer, say).
    public static func checkedState(_ node: NodeAdvertisement) -> NodeState? {
        guard node.load.isFinite, (0...1).contains(node.load), (0...Self.maxSlots).contains(node.maxConcurrentTasks),
            (0...Self.maxSlots).contains(node.activeTasks), (node.queuedTasks ?? 0) >= 0,
            (node.queuedTasks ?? 0) <= Self.maxQueuedTasks
        else { return nil }
        return node.nodeState
    }

    /// Opens a connection for a registration; an address the transport refuses is `invalidArgument`.
    private func open(_ node: NodeAdvertisement) throws -> any MemberConnection {
        var node = node
        node.source = .registered
        do {
            return try self.connect(node)
        } catch let error as DistributedImagingError {
            throw DistributedImagingError(code: .invalidArgument, message: error.message, cause: error.cause)
        }
    }

    /// Adds or refreshes a node that registered over the transport, after checking that it
    /// answers its health check at the address it advertised, on a connection of its own (a node
    /// already listed at that address, and answering, is refreshed without a check).
    ///
    /// - Throws: ``DistributedImagingError`` with code `unavailable` naming the address when the
    ///   node does not answer within ``admissionTimeout``, and as ``register(_:)``.
    public func admit(_ node: NodeAdvertisement) async throws {
        try Self.validate(node)
        let known = self.state.withLock { state in
            state.entries[node.name].map {
                $0.connection.addressDescription == node.address && $0.advertisement.taskAddress == node.taskAddress
                    && $0.answering
            } ?? false
        }
        if !known {
            let probe = try self.open(node)
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await probe.runConnections() }
                    defer { probe.close() }
                    _ = try await probe.checkHealth(timeout: self.admissionTimeout)
                }
            } catch let error as DistributedImagingError where !Self.isSilence(error) {
                // It answered (with an error of its own): it is there.
            } catch {
                throw DistributedImagingError(
                    code: .unavailable,
                    message: "the server cannot reach node '\(node.name)' at \(probe.addressDescription), the address it advertised: "
                        + "\(DistributedImagingError.message(of: error)) (check --advertise and that the server can connect to it)",
                    cause: error)
            }
        }
        try self.register(node)
    }

    /// Adds or refreshes a node, without a health check (the next periodic check covers it).
    /// Registering again under a registered name with another address replaces that registration
    /// (the name is the node: a restarted node comes back on a new port); the name of a static
    /// node cannot be registered.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidArgument` for a bad
    ///   name (the rule of configured names) or the name of a static node, a load outside 0…1, a
    ///   slot count below 0 or above 1 000 000 (0: not advertised), or an address that does not
    ///   parse or cannot be called (as the transport's `connect` says); `unavailable` once the
    ///   membership shut down.
    public func register(_ node: NodeAdvertisement) throws {
        try Self.validate(node)
        var advertisement = node
        advertisement.source = .registered
        let (replaced, new): ((any MemberConnection)?, (any MemberConnection)?) = try self.state.withLock { state in
            guard !state.closed else {
                throw DistributedImagingError(code: .unavailable, message: "the server is shutting down")
            }
            if state.entries[node.name]?.advertisement.source == .static {
                throw DistributedImagingError(
                    code: .invalidArgument,
                    message: "node name '\(node.name)' is taken by a node in the server's configuration (server.nodes): choose another --name")
            }
            // A node that comes back on another address, or another task port, gets a new connection.
            if var entry = state.entries[node.name], entry.connection.addressDescription == node.address,
                entry.advertisement.taskAddress == node.taskAddress
            {
                advertisement.address = entry.connection.addressDescription
                entry.advertisement = advertisement
                entry.lastSeen = self.now()
                entry.connection.updateSlots(node.maxConcurrentTasks)
                entry.connection.updateAdvertisedState(advertisement.nodeState)
                state.entries[node.name] = entry
                return (nil, nil)
            }
            let connection = try self.open(advertisement)
            connection.updateAdvertisedState(advertisement.nodeState)
            advertisement.address = connection.addressDescription
            let old = state.entries[node.name]?.connection
            state.entries[node.name] = Entry(advertisement: advertisement, connection: connection, lastSeen: self.now())
            return (old, connection)
        }
        if let new {
            self.starter.yield(new)
            self.logger.info(
                "node registered",
                metadata: ["dip.node.id": "\(node.name)", "address": "\(advertisement.address)", "replaced": "\(replaced != nil)"])
        }
        replaced?.close()
    }

    /// The most task slots a node may advertise (and tasks it may say hold one).
    public static let maxSlots = 1_000_000
    /// The longest queue a node may advertise.
    public static let maxQueuedTasks = 100_000_000

    /// Removes a registered node; static nodes and unknown names are left alone.
    public func deregister(_ name: NodeID) {
        let removed: (any MemberConnection)? = self.state.withLock { state in
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
            await withTaskGroup(of: Void.self) { checks in
                checks.addTask { try? await self.checkNodes() }
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
                // Shutting down (`started` ended): no more health checks, and no waiting out the
                // pause between them.
                checks.cancelAll()
            }
        }
    }

    /// Health-checks every node every heartbeat interval until cancelled.
    private func checkNodes() async throws {
        while true {
            let connections = self.state.withLock { state in
                state.closed ? [] : state.entries.values.map(\.connection)
            }
            if self.state.withLock({ $0.closed }) { return }
            await withTaskGroup(of: Void.self) { group in
                for connection in connections {
                    group.addTask {
                        do {
                            let slots = try await connection.checkHealth(timeout: self.heartbeatInterval)
                            self.recordHealth(of: connection, answered: true, slots: slots)
                        } catch let error as DistributedImagingError where !Self.isSilence(error) {
                            self.recordHealth(of: connection, answered: true, slots: nil)
                        } catch {
                            self.recordHealth(of: connection, answered: false, slots: nil)
                        }
                    }
                }
            }
            try await Task.sleep(for: self.heartbeatInterval)
        }
    }

    private enum HealthChange {
        case none, answering, silent, dropped(any MemberConnection, replacement: (any MemberConnection)?)
    }

    /// Whether a failed health check means the node did not answer at all (no connection, or no
    /// answer in time) rather than answering with an error of its own (an older node without
    /// `HealthService`, another token).
    package static func isSilence(_ error: DistributedImagingError) -> Bool {
        error.code == .unavailable || error.code == .timedOut
    }

    /// Records one health check of `connection`.
    private func recordHealth(of connection: any MemberConnection, answered: Bool, slots: Int?) {
        let node = connection.node
        if let slots { connection.updateSlots(slots) }
        let reason = "it missed \(Self.missedChecksBeforeDrop) health checks in a row (\(self.heartbeatInterval) apart)"
        let change = self.state.withLock { state -> HealthChange in
            // Checks of a connection that was replaced meanwhile say nothing about the node.
            guard var entry = state.entries[node], entry.connection === connection else { return .none }
            if answered {
                let wasSilent = !entry.answering
                entry.answering = true
                entry.missed = 0
                state.entries[node] = entry
                return wasSilent ? .answering : .none
            }
            entry.missed += 1
            let wasAnswering = entry.answering
            entry.answering = false
            guard entry.missed == Self.missedChecksBeforeDrop else {
                state.entries[node] = entry
                return wasAnswering ? .silent : .none
            }
            if entry.advertisement.source == .registered {
                state.entries[node] = nil
                return .dropped(connection, replacement: nil)
            }
            // A static node stays configured: a fresh connection serves it once it answers.
            var advertisement = entry.advertisement
            advertisement.address = connection.addressDescription
            advertisement.maxConcurrentTasks = connection.slots ?? 0
            guard let replacement = try? self.connect(advertisement) else {
                state.entries[node] = entry
                return .dropped(connection, replacement: nil)
            }
            entry.connection = replacement
            state.entries[node] = entry
            return .dropped(connection, replacement: replacement)
        }
        switch change {
        case .none:
            break
        case .answering:
            self.logger.info("node answers its health check again", metadata: ["dip.node.id": "\(node)"])
        case .silent:
            self.logger.info(
                "node does not answer its health check; not placing on it", metadata: ["dip.node.id": "\(node)"])
        case .dropped(let old, let replacement):
            self.logger.info(
                "node dropped; its tasks in flight are placed again", metadata: ["dip.node.id": "\(node)", "reason": "\(reason)"])
            old.drop(reason: reason)
            old.close()
            if let replacement { self.starter.yield(replacement) }
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
