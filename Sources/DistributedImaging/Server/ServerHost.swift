public import Logging
public import ServiceLifecycle

/// The listening half of a transport: serves a host's jobs, registrations and status to the
/// network until graceful shutdown (in the spirit of grpc-swift's `ServerTransport`).
///
/// The gRPC transport's `GRPCEndpoint` is one.
public protocol ListeningEndpoint: Service {
    /// Stops accepting calls; ``run()`` returns once calls in flight finish.
    func beginGracefulShutdown()
}

/// Everything a server process runs, wired, for any transport: a ``NodeMembership`` (configured
/// and registered nodes), the long-lived ``ImagingServer`` that places every job's tasks on the
/// membership's nodes, the observers every job reports to, and the transport's endpoint.
///
/// Run ``services`` in a `ServiceGroup`, in order: on shutdown new jobs are refused and running
/// ones get the configuration's `shutdownGracePeriod` to finish (then, with a durable store, they
/// stay in it to resume on the next start; otherwise their remaining tasks fail and each client
/// gets its receipt), then the endpoint stops, then the membership closes the node connections.
/// Call ``ImagingServer/resumeJobs()`` on ``server`` before, to pick up the jobs a previous
/// process left running.
public final class ServerHost<Endpoint: ListeningEndpoint>: Sendable {
    /// The nodes.
    public let membership: NodeMembership
    /// The jobs: one server for the life of the process.
    public let server: ImagingServer
    /// The listening endpoint.
    public let endpoint: Endpoint
    /// What the server's jobs did on each node, and the jobs running now.
    public let activity: ClusterActivity
    /// Every job's events go to these (``activity`` first); add metrics here before running.
    public let observers: JobObservers
    /// The nodes every job skips for a while after a failed call.
    public let health: NodeHealth

    /// Wires a server.
    ///
    /// - Parameters:
    ///   - configuration: The server role's settings.
    ///   - storage: The shared storage.
    ///   - membership: The nodes (a node found dead by one job is skipped by every job for one
    ///     heartbeat interval, then probed again).
    ///   - store: Where jobs are kept (default: in memory).
    ///   - durable: Whether `store` outlives the process (see ``ImagingServer``).
    ///   - placement: How tasks are placed (default random).
    ///   - logger: Where the server logs.
    ///   - endpoint: Makes the transport's endpoint, given the server to take jobs and the host's
    ///     status (its nodes, with what each did, and its running jobs).
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration`, or as `endpoint`.
    public init(
        configuration: ServerConfiguration,
        storage: SharedStorage,
        membership: NodeMembership,
        store: any JobStore = InMemoryJobStore(),
        durable: Bool = false,
        placement: any Placement = RandomPlacement(),
        logger: Logger,
        endpoint: (_ server: ImagingServer, _ status: @escaping @Sendable () -> PeerStatus) throws -> Endpoint
    ) throws {
        let activity = ClusterActivity()
        let observers = JobObservers([activity])
        let health = NodeHealth(retryAfter: membership.heartbeatInterval)
        let server = try ImagingServer(
            configuration: configuration, storage: storage, nodes: membership, store: store, durable: durable,
            placement: placement, health: health, observers: observers, logger: logger)
        self.membership = membership
        self.server = server
        self.activity = activity
        self.observers = observers
        self.health = health
        self.endpoint = try endpoint(server) {
            PeerStatus(role: .server, activity: activity, nodes: membership.statusAdvertisements(), health: health)
        }
    }

    /// The services to run, in start order.
    public var services: [any Service] { [self.membership, self.endpoint, self.server] }
}
