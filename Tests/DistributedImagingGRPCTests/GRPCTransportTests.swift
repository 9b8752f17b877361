import DistributedImaging
@testable import DistributedImagingGRPC
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Testing

/// What only the network transport has: versions, unreachable peers, registration, health.
@Suite("gRPC transport", .timeLimit(.minutes(1)))
struct GRPCTransportTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A port nothing listens on: bound by an endpoint that then stopped.
    func closedPort() async throws -> PeerAddress {
        try await withEndpoint([]) { $0 }
    }

    @Test("A node that cannot be reached is `unavailable`")
    func unreachableNode() async throws {
        let address = try await self.closedPort()
        let connection = try GRPCNodeConnection(node: NodeID("gone"), address: address)
        let error = await #expect(throws: DistributedImagingError.self) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await connection.runConnections() }
                defer { connection.close() }
                _ = try await connection.run(TransportConformanceTests.tasks[0])
            }
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("gone") == true)
    }

    @Test("A server that cannot be reached is `unavailable`")
    func unreachableServer() async throws {
        let address = try await self.closedPort()
        let error = await #expect(throws: DistributedImagingError.self) {
            try await GRPCJobSubmitter.withSubmitter(server: address) { try await $0.submit(JobRequest(inputDirectory: "x")) }
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("\(address)") == true)
    }

    @Test("Another protocol revision is refused with a message naming both", arguments: [0, 2, 99])
    func protocolMismatch(version: Int) async throws {
        let registry = try NodeMembership(logger: self.logger, connect: GRPCNodeConnection.connector())
        let services: [any RegistrableRPCService] = [
            NodeServiceProvider(executor: FakeExecutor()),
            JobServiceProvider(submitter: FakeSubmitter(), logger: self.logger),
            RegistryServiceProvider(membership: registry),
        ]
        try await withEndpoint(services) { address in
            try await withGRPCClient(
                transport: try HTTP2ClientTransport.Posix(target: address.target, transportSecurity: .plaintext)
            ) { client in
                let wire = Dip_V1_ProtocolVersion(rawValue: version) ?? .unspecified
                let calls: [@Sendable () async throws -> Void] = [
                    {
                        _ = try await Dip_V1_NodeService.Client(wrapping: client).runTask(
                            .with {
                                $0.protocolVersion = wire
                                $0.task = Dip_V1_TaskRequest(TransportConformanceTests.tasks[0])
                            })
                    },
                    {
                        try await Dip_V1_JobService.Client(wrapping: client).submitJob(
                            .with {
                                $0.protocolVersion = wire
                                $0.job.inputDirectory = "photos"
                            }
                        ) { response in for try await _ in response.messages {} }
                    },
                    {
                        _ = try await Dip_V1_RegistryService.Client(wrapping: client).registerNode(
                            .with {
                                $0.protocolVersion = wire
                                $0.node.name = "n"
                                $0.node.address = "127.0.0.1:1"
                            })
                    },
                ]
                for call in calls {
                    let error = await #expect(throws: RPCError.self) { try await call() }
                    #expect(error?.code == .failedPrecondition)
                    #expect(error?.message.contains("protocol version mismatch") == true)
                    #expect(error?.message.contains("dip.v1 revision 1") == true)
                    let mapped = error.map { DistributedImagingError.fromRPC($0, peer: "peer") }
                    #expect(mapped?.code == .invalidConfiguration)
                }
            }
        }
        #expect(registry.connections().isEmpty)
    }

    @Test("A node registers, takes tasks through the registry, and deregisters on shutdown")
    func registration() async throws {
        // A registration expires after 3 intervals: keep them long enough that a loaded CI
        // machine cannot expire it between `register()` and the checks below.
        let registry = try NodeMembership(heartbeatInterval: .seconds(2), logger: self.logger, connect: GRPCNodeConnection.connector())
        let executor = FakeExecutor(node: NodeID("node-a"))
        try await withThrowingDiscardingTaskGroup { outer in
            outer.addTask { try await registry.run() }
            defer { registry.beginGracefulShutdown() }
            try await withEndpoint([RegistryServiceProvider(membership: registry)]) { serverAddress in
                try await withEndpoint([NodeServiceProvider(executor: executor)]) { nodeAddress in
                    let registrar = try NodeRegistrar(server: serverAddress, logger: self.logger) {
                        NodeAdvertisement(name: executor.node, address: "\(nodeAddress)", policy: .optional, load: 0.25)
                    }
                    try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await registrar.runConnections() }
                    defer { registrar.close() }
                    _ = try await registrar.register()
                    let connections = registry.connections()
                    try #require(connections.count == 1)
                    #expect(connections[0].node == executor.node)
                    #expect(registry.advertisements().first?.policy == .optional)
                    #expect(registry.advertisements().first?.load == 0.25)
                    let receipt = try await connections[0].run(TransportConformanceTests.tasks[0])
                    #expect(receipt.status == .succeeded && receipt.node == executor.node)
                    await registrar.deregister()
                    #expect(registry.connections().isEmpty)
                    }
                }
            }
        }
    }

    @Test("A registration that stops heartbeating expires")
    func expiry() throws {
        let time = ManualTime()
        let registry = try NodeMembership(
            heartbeatInterval: .milliseconds(20), expiry: .milliseconds(60), logger: self.logger, now: time.read,
            connect: GRPCNodeConnection.connector())
        defer { registry.beginGracefulShutdown() }
        try registry.register(NodeAdvertisement(name: NodeID("n"), address: "127.0.0.1:9"))
        #expect(registry.connections().count == 1)
        time.advance(by: .milliseconds(60))
        #expect(registry.connections().count == 1, "listed up to the expiry")
        time.advance(by: .milliseconds(1))
        #expect(registry.connections().isEmpty, "left out once the expiry passed")
        try registry.register(NodeAdvertisement(name: NodeID("n"), address: "127.0.0.1:9"))
        #expect(registry.connections().count == 1)
    }

    @Test("A registration under a registered name replaces it; under a static node's name it is refused")
    func nameTaken() throws {
        let registry = try NodeMembership(logger: self.logger, connect: GRPCNodeConnection.connector())
        defer { registry.beginGracefulShutdown() }
        try registry.register(NodeAdvertisement(name: NodeID("n"), address: "127.0.0.1:9", load: 0.1))
        try registry.register(NodeAdvertisement(name: NodeID("n"), address: "127.0.0.1:10", load: 0.9))
        let listed = registry.advertisements()
        #expect(listed.count == 1, "one node per name: \(listed)")
        #expect(listed.first?.address == "127.0.0.1:10" && listed.first?.load == 0.9)
        #expect(registry.connections().map(\.node) == [NodeID("n")])
        // A static node's name cannot be taken over by a registration.
        let withStatic = try NodeMembership(
            staticNodes: [NodeAdvertisement(name: NodeID("s"), address: "127.0.0.1:11")], logger: self.logger,
            connect: GRPCNodeConnection.connector())
        defer { withStatic.beginGracefulShutdown() }
        let error = #expect(throws: DistributedImagingError.self) {
            try withStatic.register(NodeAdvertisement(name: NodeID("s"), address: "127.0.0.1:12"))
        }
        #expect(error?.code == .invalidArgument && error?.message.contains("server.nodes") == true, "\(String(describing: error))")
        #expect(withStatic.advertisements().map(\.address) == ["127.0.0.1:11"])
    }

    @Test("Registration refuses an address the server cannot call", arguments: ["0.0.0.0:7000", "127.0.0.1:0", "nonsense"])
    func badAdvertisement(address: String) throws {
        let registry = try NodeMembership(logger: self.logger, connect: GRPCNodeConnection.connector())
        defer { registry.beginGracefulShutdown() }
        #expect(throws: DistributedImagingError.self) {
            try registry.register(NodeAdvertisement(name: NodeID("n"), address: address))
        }
    }

    @Test("Health status reports role, versions and nodes")
    func health() async throws {
        var sent = PeerStatus(
            role: .server, nodes: [NodeAdvertisement(name: NodeID("n1"), address: "127.0.0.1:7001", policy: .mandatory)])
        #expect(sent.protocolVersion == 0, "the core status carries no wire revision until the transport sends it")
        sent.protocolVersion = WireProtocol.version
        let status = sent
        try await withEndpoint([HealthServiceProvider { status }]) { address in
            let answered = try await HealthClient.status(of: address)
            #expect(answered == status)
            #expect(answered.protocolVersion == WireProtocol.version)
        }
    }

    @Test("A server's status marks the nodes it is skipping after a failed call as suspect")
    func suspectNodes() async throws {
        let health = NodeHealth(retryAfter: .seconds(60))
        health.markUnreachable(NodeID("n2"))
        let status = PeerStatus(
            role: .server, activity: ClusterActivity(),
            nodes: [
                NodeAdvertisement(name: NodeID("n1"), address: "127.0.0.1:7001", policy: .mandatory),
                NodeAdvertisement(name: NodeID("n2"), address: "127.0.0.1:7002", policy: .optional, load: 0.5),
            ],
            health: health)
        try await withEndpoint([HealthServiceProvider { status }]) { address in
            let answered = try await HealthClient.status(of: address)
            #expect(answered.nodes.map(\.suspect) == [false, true])
            let rows = answered.table.split(separator: "\n").map(String.init)
            #expect(rows.contains { $0.hasPrefix("n1 ") && $0.contains(" alive ") })
            #expect(rows.contains { $0.hasPrefix("n2 ") && $0.contains(" suspect ") })
        }
    }
}
