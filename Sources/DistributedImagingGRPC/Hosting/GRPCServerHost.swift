public import DistributedImaging
public import Logging
public import ServiceLifecycle

/// `dip-server`'s ``DistributedImaging/ServerHost`` on the gRPC transport: the core host (node
/// membership, the long-lived ``DistributedImaging/ImagingServer``, observers) with a
/// ``GRPCEndpoint`` serving `JobService`, `RegistryService` and `HealthService`, and node
/// connections over ``GRPCNodeConnection``.
///
/// Run ``services`` in a `ServiceGroup` (see ``DistributedImaging/ServerHost`` for the order of
/// shutdown). Call ``DistributedImaging/ImagingServer/resumeJobs()`` on ``server`` before, to
/// pick up the jobs a previous process left running.
///
/// ```swift
/// let host = try GRPCServerHost(settings: settings, store: store, durable: true, logger: logger)
/// try await host.server.resumeJobs()
/// try await ServiceGroup(services: host.services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
/// ```
public final class GRPCServerHost: Sendable {
    /// The transport-independent host.
    public let host: ServerHost<GRPCEndpoint>

    /// The nodes.
    public var membership: NodeMembership { self.host.membership }
    /// The listening endpoint.
    public var endpoint: GRPCEndpoint { self.host.endpoint }
    /// The jobs: one server for the life of the process.
    public var server: ImagingServer { self.host.server }
    /// What the server's jobs did on each node, and the jobs running now (`GetStatus`).
    public var activity: ClusterActivity { self.host.activity }
    /// Every job's events go to these (``activity`` first); add metrics here before running.
    public var observers: JobObservers { self.host.observers }
    /// The services to run, in start order.
    public var services: [any Service] { self.host.services }

    /// What an operator should hear about this configuration (e.g. authentication off on a
    /// non-loopback address); the application decides how loudly to say it.
    public let warnings: [String]

    private let logger: Logger
    private let security: PeerSecurity

    /// Wires a server.
    ///
    /// - Parameters:
    ///   - settings: The `server` section (listen address, heartbeat, task timeout, static nodes).
    ///   - security: The shared token and TLS, for calls in and out (resolve it with
    ///     ``SecuritySettings/resolve(tokenFileFromFlag:environment:section:)``; default none).
    ///   - store: Where jobs are kept (default: in memory).
    ///   - durable: Whether `store` outlives the process (see ``DistributedImaging/ImagingServer``).
    ///   - logger: Where the server logs.
    ///   - onListening: Called with the bound address.
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`
    ///   naming the key and value.
    public init(
        settings: ServerSettings,
        security: PeerSecurity = .none,
        store: any JobStore = InMemoryJobStore(),
        durable: Bool = false,
        logger: Logger,
        onListening: @escaping @Sendable (PeerAddress) -> Void = { _ in }
    ) throws {
        try settings.validate()
        let listen = try settings.listenAddress()
        let membership = try NodeMembership(
            staticNodes: try settings.staticNodes(),
            heartbeatInterval: .seconds(double: settings.heartbeatInterval),
            logger: logger,
            connect: GRPCNodeConnection.connector(security: security))
        self.host = try ServerHost(
            configuration: try settings.serverConfiguration(), storage: try settings.storage(), membership: membership,
            store: store, durable: durable, placement: try settings.placementStrategy().makePlacement(), logger: logger
        ) { server, status in
            GRPCEndpoint(
                listen: listen,
                services: [
                    JobServiceProvider(submitter: server, logger: logger),
                    RegistryServiceProvider(membership: membership),
                    HealthServiceProvider(status: status),
                ],
                security: security,
                maxConcurrentStreams: settings.maxConcurrentStreams,
                logger: logger,
                onListening: onListening)
        }
        self.logger = logger
        self.security = security
        if security.authToken == nil && !listen.isLoopback {
            self.warnings = [
                "authentication is off and the server listens on a non-loopback address: anyone who can reach \(listen) can run jobs; set --auth-token-file or DIP_AUTH_TOKEN"
            ]
        } else {
            self.warnings = []
        }
    }

    /// Asks every static node for its status and reports the ones that cannot be reached or speak
    /// another protocol revision (they stay configured: a node may start later).
    ///
    /// - Returns: One line per problem.
    @discardableResult
    public func checkStaticNodes(timeout: Duration = .seconds(2)) async -> [String] {
        let nodes = self.membership.advertisements().filter { $0.source == .static }
        var problems: [String] = []
        for node in nodes {
            do {
                let address = try PeerAddress(parsing: node.address)
                let status = try await HealthClient.status(of: address, timeout: timeout, security: self.security)
                if status.protocolVersion != WireProtocol.version {
                    problems.append(
                        "static node '\(node.name)' at \(node.address) speaks \(WireProtocol.describe(status.protocolVersion)), "
                            + "this dip-server speaks \(WireProtocol.describe(WireProtocol.version)): its tasks will fail")
                }
            } catch {
                problems.append("static node '\(node.name)' at \(node.address) cannot be reached yet: \(DistributedImagingError.message(of: error))")
            }
        }
        for problem in problems { self.logger.debug("\(problem)") }
        return problems
    }
}
