// Node membership over a transport written against the public API alone (no `@testable`): the
// table of configured and registered nodes, their health checks and expiry live in the core.
import DistributedImaging
import Logging
import Synchronization
import Testing

/// A node connection whose node answers health checks while `answering` is set.
final class FakeMemberConnection: MemberConnection {
    let node: NodeID
    let addressDescription: String
    private let state = Mutex<(slots: Int?, dropped: String?, closed: Bool, advertised: NodeState?)>((nil, nil, false, nil))
    private let answering: @Sendable () -> Bool

    init(_ advertisement: NodeAdvertisement, answering: @escaping @Sendable () -> Bool) {
        self.node = advertisement.name
        self.addressDescription = advertisement.address
        self.answering = answering
        self.state.withLock { $0.slots = advertisement.maxConcurrentTasks > 0 ? advertisement.maxConcurrentTasks : nil }
    }

    var slots: Int? { self.state.withLock { $0.slots } }
    var dropped: String? { self.state.withLock { $0.dropped } }
    var closed: Bool { self.state.withLock { $0.closed } }

    func run(_ task: TaskRequest) async throws -> TaskReceipt {
        if let reason = self.dropped { throw DistributedImagingError(code: .unavailable, message: "dropped: \(reason)") }
        return TaskReceipt(for: task, status: .succeeded, node: self.node, elapsed: 0)
    }

    func runConnections() async throws {}

    func checkHealth(timeout: Duration) async throws -> Int? {
        guard self.answering() else { throw DistributedImagingError(code: .unavailable, message: "\(self.node) is silent") }
        return 3
    }

    func updateSlots(_ slots: Int) { if slots > 0 { self.state.withLock { $0.slots = slots } } }
    var advertisedState: NodeState? { self.state.withLock { $0.advertised } }
    func updateAdvertisedState(_ state: NodeState?) { self.state.withLock { $0.advertised = state } }
    func drop(reason: String) { self.state.withLock { $0.dropped = $0.dropped ?? reason } }
    func close() { self.state.withLock { $0.closed = true } }
}

/// Opens fake connections and remembers them; a name in `silent` does not answer.
final class FakeDialer: Sendable {
    private let opened = Mutex<[FakeMemberConnection]>([])
    let silent = Mutex<Set<NodeID>>([])

    var connections: [FakeMemberConnection] { self.opened.withLock { $0 } }

    var connect: NodeMembership.Connect {
        { advertisement in
            guard advertisement.address.contains(":") else {
                throw DistributedImagingError(code: .invalidConfiguration, message: "'\(advertisement.address)' is not HOST:PORT")
            }
            let name = advertisement.name
            let connection = FakeMemberConnection(advertisement) { !self.silent.withLock { $0.contains(name) } }
            self.opened.withLock { $0.append(connection) }
            return connection
        }
    }
}

@Suite("Node membership over any transport", .timeLimit(.minutes(1)))
struct NodeMembershipTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test("Registrations are listed, refreshed, replaced at a new address, and expire")
    func registrations() throws {
        let time = ManualTime()
        let dialer = FakeDialer()
        let membership = try NodeMembership(
            staticNodes: [NodeAdvertisement(name: NodeID("s"), address: "10.0.0.1:1")],
            heartbeatInterval: .milliseconds(20), expiry: .milliseconds(60), logger: self.logger, now: time.read,
            connect: dialer.connect)
        defer { membership.beginGracefulShutdown() }
        try membership.register(NodeAdvertisement(name: NodeID("r"), address: "10.0.0.2:1", load: 0.5, maxConcurrentTasks: 2))
        #expect(membership.connections().map(\.node) == [NodeID("r"), NodeID("s")])
        #expect(membership.advertisements().map(\.source) == [.registered, .static])
        // The same address refreshes; another replaces (and closes) the connection.
        try membership.register(NodeAdvertisement(name: NodeID("r"), address: "10.0.0.2:1", load: 0.7))
        #expect(dialer.connections.count == 2)
        try membership.register(NodeAdvertisement(name: NodeID("r"), address: "10.0.0.2:2"))
        #expect(dialer.connections.count == 3 && dialer.connections[1].closed)
        time.advance(by: .milliseconds(61))
        #expect(membership.connections().map(\.node) == [NodeID("s")], "the registration lapsed; the static node stays")
        #expect(membership.statusAdvertisements().map(\.suspect) == [true, false])

        // What the transport refuses, and the rules the core keeps, are `invalidArgument`.
        let badAddress = #expect(throws: DistributedImagingError.self) {
            try membership.register(NodeAdvertisement(name: NodeID("x"), address: "nowhere"))
        }
        #expect(badAddress?.code == .invalidArgument && badAddress?.message.contains("nowhere") == true)
        let taken = #expect(throws: DistributedImagingError.self) {
            try membership.register(NodeAdvertisement(name: NodeID("s"), address: "10.0.0.3:1"))
        }
        #expect(taken?.code == .invalidArgument)
        #expect(throws: DistributedImagingError.self) {
            try membership.register(NodeAdvertisement(name: NodeID("y"), address: "10.0.0.4:1", load: .nan))
        }
    }

    @Test("A node is admitted only when it answers on a connection of its own")
    func admission() async throws {
        let dialer = FakeDialer()
        let membership = try NodeMembership(logger: self.logger, connect: dialer.connect)
        defer { membership.beginGracefulShutdown() }
        dialer.silent.withLock { _ = $0.insert(NodeID("quiet")) }
        let error = await #expect(throws: DistributedImagingError.self) {
            try await membership.admit(NodeAdvertisement(name: NodeID("quiet"), address: "10.0.0.5:1"))
        }
        #expect(error?.code == .unavailable && error?.message.contains("10.0.0.5:1") == true)
        try await membership.admit(NodeAdvertisement(name: NodeID("loud"), address: "10.0.0.6:1"))
        #expect(membership.connections().map(\.node) == [NodeID("loud")])
        #expect(dialer.connections.count == 3, "one probe per admission, then the listed connection")
        #expect(dialer.connections[0].closed && dialer.connections[1].closed, "probes are closed")
    }

    @Test("A node that misses its health checks is dropped; a configured one gets a fresh connection")
    func healthChecks() async throws {
        let dialer = FakeDialer()
        let membership = try NodeMembership(
            staticNodes: [NodeAdvertisement(name: NodeID("s"), address: "10.0.0.1:1")],
            heartbeatInterval: .milliseconds(10), logger: self.logger, connect: dialer.connect)
        try membership.register(NodeAdvertisement(name: NodeID("r"), address: "10.0.0.2:1"))
        let registered = dialer.connections[1]
        let configured = dialer.connections[0]
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await membership.run() }
            defer { membership.beginGracefulShutdown() }
            // Answering checks record the slots the node advertises.
            try await poll { registered.slots == 3 }
            dialer.silent.withLock { $0 = [NodeID("r"), NodeID("s")] }
            try await poll { registered.dropped != nil && configured.dropped != nil }
            #expect(registered.dropped?.contains("missed \(NodeMembership.missedChecksBeforeDrop) health checks") == true)
            #expect(membership.advertisements().map(\.name) == [NodeID("s")], "the registration is gone")
            #expect(dialer.connections.count == 3, "the configured node was given a fresh connection")
            await #expect(throws: DistributedImagingError.self) {
                _ = try await registered.run(TaskRequest(jobID: JobID("j"), taskIndex: 0, inputPath: "a.png", outputPath: "b.png", pipeline: "identity"))
            }
        }
        #expect(dialer.connections.allSatisfy { $0.closed })
    }
}

/// Waits until `condition` holds, failing after 10 s.
func poll(_ condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within 10 s", sourceLocation: sourceLocation)
            return
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}
