import DistributedImaging
import Logging
import ServiceLifecycle
import Synchronization

/// Everything `dip-server` runs, wired: a ``NodeRegistry`` (static and registered nodes) and a
/// ``GRPCEndpoint`` serving `JobService`, `RegistryService` and `HealthService`.
///
/// Run ``services`` in a `ServiceGroup`, in order: on shutdown new jobs are refused and running
/// ones get `shutdownGracePeriod` to finish (then their remaining tasks fail and each client gets
/// its receipt), then the endpoint stops, then the registry closes the node connections.
///
/// ```swift
/// let host = try GRPCServerHost(settings: settings, logger: logger) { nodes in
///     try ImagingServer(configuration: configuration, storage: storage, nodes: nodes, logger: logger)
/// }
/// try await ServiceGroup(services: host.services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
/// ```
public final class GRPCServerHost: Sendable {
    /// The nodes.
    public let registry: NodeRegistry
    /// The listening endpoint.
    public let endpoint: GRPCEndpoint
    /// The jobs: on shutdown, refuses new ones and gives running ones the grace period.
    public let jobs: GracefulJobSubmitter

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
    ///   - logger: Where the server logs.
    ///   - onListening: Called with the bound address.
    ///   - health: The node health the job runners share, shown in the status (`suspect`
    ///     nodes); `nil` when the runners keep none.
    ///   - makeSubmitter: Makes the job runner for the nodes live when a job starts.
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`.
    public init(
        settings: ServerSettings,
        security: PeerSecurity = .none,
        logger: Logger,
        onListening: @escaping @Sendable (PeerAddress) -> Void = { _ in },
        health: NodeHealth? = nil,
        makeSubmitter: @escaping @Sendable ([any NodeConnection]) throws -> any JobSubmitter
    ) throws {
        try settings.validate()
        let registry = try NodeRegistry(
            staticNodes: try settings.staticNodes(),
            heartbeatInterval: .seconds(double: settings.heartbeatInterval),
            security: security,
            logger: logger)
        let activity = ClusterActivity()
        let observers = JobObservers([activity])
        let jobs = GracefulJobSubmitter(
            base: RegistryJobSubmitter(registry: registry, makeSubmitter: makeSubmitter),
            gracePeriod: .seconds(double: settings.shutdownGracePeriod))
        // Observers see what clients see, the receipt rewritten after a grace period included.
        let submitter = ObservedJobSubmitter(jobs, observers: [observers])
        self.jobs = jobs
        self.activity = activity
        self.observers = observers
        self.registry = registry
        self.endpoint = GRPCEndpoint(
            listen: try settings.listenAddress(),
            services: [
                JobServiceProvider(submitter: submitter, logger: logger),
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
            logger.warning(
                "authentication is off and the server listens on a non-loopback address: anyone who can reach \(listen) can run jobs; set --auth-token-file or DIP_AUTH_TOKEN")
        }
    }

    /// Wires a server whose jobs run on ``DistributedImaging/ImagingServer``.
    ///
    /// Each job gets an `ImagingServer` over the nodes live when it starts; with a configured
    /// `seed`, job *n* is seeded with `seed + n`, so runs repeat and job ids stay distinct.
    ///
    /// - Parameters:
    ///   - settings: The `server` section.
    ///   - security: The shared token and TLS (default none).
    ///   - logger: Where the server logs.
    ///   - onListening: Called with the bound address.
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`
    ///   naming the key and value.
    public convenience init(
        settings: ServerSettings, security: PeerSecurity = .none, logger: Logger,
        onListening: @escaping @Sendable (PeerAddress) -> Void = { _ in }
    ) throws {
        let configuration = try settings.serverConfiguration()
        let storage = try settings.storage()
        let jobs = JobCounter()
        // Shared by every job: a node found dead by one job is skipped by the next, for one
        // heartbeat interval, then probed again.
        let health = NodeHealth(retryAfter: .seconds(double: settings.heartbeatInterval))
        // Running jobs read the registry's live nodes on every attempt (set once it exists).
        let live = LiveNodes()
        try self.init(settings: settings, security: security, logger: logger, onListening: onListening, health: health) {
            nodes in
            var perJob = configuration
            let number = jobs.next()
            perJob.seed = configuration.seed.map { $0 &+ number }
            return try ImagingServer(
                configuration: perJob, storage: storage, nodes: nodes, health: health,
                liveNodes: { live.connections() }, logger: logger)
        }
        live.set(self.registry)
    }

    /// The services to run, in start order.
    public var services: [any Service] { [self.registry, self.endpoint, self.jobs] }

    /// Asks every static node for its status and logs the ones that cannot be reached or speak
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
                problems.append("static node '\(node.name)' at \(node.address) cannot be reached yet: \(error)")
            }
        }
        for problem in problems { self.logger.warning("\(problem)") }
        return problems
    }
}

/// The registry whose live nodes running jobs read, once the host made it.
private final class LiveNodes: Sendable {
    private let registry = Mutex<NodeRegistry?>(nil)
    func set(_ registry: NodeRegistry) { self.registry.withLock { $0 = registry } }
    func connections() -> [any NodeConnection] { self.registry.withLock { $0 }?.connections() ?? [] }
}

/// Numbers jobs.
private final class JobCounter: Sendable {
    private let count = Atomic<UInt64>(0)
    func next() -> UInt64 { self.count.add(1, ordering: .relaxed).oldValue }
}
