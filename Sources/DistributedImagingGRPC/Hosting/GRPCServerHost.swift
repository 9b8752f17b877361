import DistributedImaging
import Logging
import ServiceLifecycle
import Synchronization

/// Everything `dip-server` runs, wired: a ``NodeRegistry`` (static and registered nodes), the
/// long-lived ``DistributedImaging/ImagingServer`` that places every job's tasks on the
/// registry's nodes, and a ``GRPCEndpoint`` serving `JobService`, `RegistryService` and
/// `HealthService`.
///
/// Run ``services`` in a `ServiceGroup`, in order: on shutdown new jobs are refused and running
/// ones get `shutdownGracePeriod` to finish (then, with a durable store, they stay in it to
/// resume on the next start; otherwise their remaining tasks fail and each client gets its
/// receipt), then the endpoint stops, then the registry closes the node connections. Call
/// ``DistributedImaging/ImagingServer/resumeJobs()`` on ``server`` before, to pick up the jobs a
/// previous process left running.
///
/// ```swift
/// let host = try GRPCServerHost(settings: settings, store: store, durable: true, logger: logger)
/// try await host.server.resumeJobs()
/// try await ServiceGroup(services: host.services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
/// ```
public final class GRPCServerHost: Sendable {
    /// The nodes.
    public let registry: NodeRegistry
    /// The listening endpoint.
    public let endpoint: GRPCEndpoint
    /// The jobs: one server for the life of the process.
    public let server: ImagingServer

    /// What the server's jobs did on each node, and the jobs running now (`GetStatus`).
    public let activity: ClusterActivity
    /// Every job's events go to these (``activity`` first); add metrics here before running.
    public let observers: JobObservers

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
        let registry = try NodeRegistry(
            staticNodes: try settings.staticNodes(),
            heartbeatInterval: .seconds(double: settings.heartbeatInterval),
            security: security,
            logger: logger)
        let activity = ClusterActivity()
        let observers = JobObservers([activity])
        // A node found dead by one job is skipped by every job for one heartbeat interval, then
        // probed again.
        let health = NodeHealth(retryAfter: .seconds(double: settings.heartbeatInterval))
        let server = try ImagingServer(
            configuration: try settings.serverConfiguration(), storage: try settings.storage(), nodes: registry,
            store: store, durable: durable, placement: try settings.placementStrategy().makePlacement(), health: health,
            observers: observers, logger: logger)
        self.server = server
        self.activity = activity
        self.observers = observers
        self.registry = registry
        self.endpoint = GRPCEndpoint(
            listen: try settings.listenAddress(),
            services: [
                JobServiceProvider(submitter: server, logger: logger),
                RegistryServiceProvider(registry: registry),
                HealthServiceProvider {
                    PeerStatus(role: .server, activity: activity, nodes: registry.statusAdvertisements(), health: health)
                },
            ],
            security: security,
            maxConcurrentStreams: settings.maxConcurrentStreams,
            logger: logger,
            onListening: onListening)
        self.logger = logger
        self.security = security
        let listen = try settings.listenAddress()
        if security.authToken == nil && !listen.isLoopback {
            self.warnings = [
                "authentication is off and the server listens on a non-loopback address: anyone who can reach \(listen) can run jobs; set --auth-token-file or DIP_AUTH_TOKEN"
            ]
        } else {
            self.warnings = []
        }
    }

    /// What an operator should hear about this configuration (e.g. authentication off on a
    /// non-loopback address); the application decides how loudly to say it.
    public let warnings: [String]

    /// The services to run, in start order.
    public var services: [any Service] { [self.registry, self.endpoint, self.server] }

    /// Asks every static node for its status and reports the ones that cannot be reached or speak
    /// another protocol revision (they stay configured: a node may start later).
    ///
    /// - Returns: One line per problem.
    @discardableResult
    public func checkStaticNodes(timeout: Duration = .seconds(2)) async -> [String] {
        let nodes = self.registry.advertisements().filter { $0.source == .static }
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
