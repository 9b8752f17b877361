public import DistributedImaging
public import Logging
import ServiceLifecycle

/// Everything `dip-node` runs besides the node role itself, wired: a ``GRPCEndpoint`` serving
/// `NodeService` and `HealthService` for a ``DistributedImaging/TaskExecutor``, its task port
/// (``TaskPortListener``, unless `node.taskListen` is `off` or the node has TLS or a token), and,
/// when a server is configured, a ``NodeRegistrar`` that registers the node (and its task port)
/// and heartbeats.
///
/// Run ``services(around:)`` with the node role in a `ServiceGroup`: on shutdown the node
/// deregisters, drains (rejects new tasks, finishes those in flight), then stops listening.
public final class GRPCNodeHost: Sendable {
    /// The listening endpoint.
    public let endpoint: GRPCEndpoint
    /// The registrar, when the node registers with a server.
    public let registrar: NodeRegistrar?
    /// The task port, when the node opens one.
    public let taskPort: TaskPortListener?

    /// Wires a node.
    ///
    /// - Parameters:
    ///   - settings: The `node` section (listen, advertise, server, policy, load, ...).
    ///   - executor: The node role.
    ///   - activeTasks: Tasks in flight now, for status and heartbeats (when `state` is not given).
    ///   - state: The node's state now — policy, load and its mode, slots, busy slots, queue
    ///     (``DistributedImaging/ImagingNode/advertisedState``) — sent in every registration and
    ///     heartbeat and shown in status; `nil` (or a closure answering `nil`) advertises the
    ///     settings' policy and load with `activeTasks`.
    ///   - security: The shared token and TLS, for calls in and out (default none).
    ///   - logger: Where it logs.
    ///   - onListening: Called with the bound address.
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`.
    public init(
        settings: NodeSettings,
        executor: any TaskExecutor,
        activeTasks: @escaping @Sendable () -> Int = { 0 },
        state: (@Sendable () -> NodeState?)? = nil,
        security: PeerSecurity = .none,
        logger: Logger,
        onListening: @escaping @Sendable (PeerAddress) -> Void = { _ in }
    ) throws {
        try settings.validate()
        let listen = try settings.listenAddress()
        let taskPort = try settings.taskListenAddress().flatMap { address in
            security.allowsTaskPort ? TaskPortListener(listen: address, executor: executor, logger: logger) : nil
        }
        self.taskPort = taskPort
        // The task port is advertised on the host the server calls, with the port it bound.
        let describe: @Sendable (PeerAddress?, PeerAddress?) -> NodeAdvertisement = { bound, taskBound in
            let advertised = try? settings.advertisedAddress(bound: bound)
            let address = advertised.map { "\($0)" } ?? settings.listen
            var taskAddress: String?
            if let advertised, let taskBound { taskAddress = "\(PeerAddress(host: advertised.host, port: taskBound.port))" }
            if let current = state?() {
                return NodeAdvertisement(name: executor.node, address: address, state: current, taskAddress: taskAddress)
            }
            return NodeAdvertisement(
                name: executor.node, address: address, policy: settings.policy, load: settings.load,
                maxConcurrentTasks: settings.maxConcurrentTasks, activeTasks: activeTasks(), taskAddress: taskAddress)
        }
        let endpoint = GRPCEndpoint(
            listen: listen,
            services: [
                NodeServiceProvider(executor: executor),
                HealthServiceProvider { PeerStatus(role: .node, node: describe(nil, nil)) },
            ],
            security: security,
            maxConcurrentStreams: settings.maxConcurrentStreams,
            logger: logger,
            onListening: onListening)
        self.endpoint = endpoint
        if let server = try settings.serverAddress() {
            self.registrar = try NodeRegistrar(server: server, security: security, logger: logger) {
                describe(try await endpoint.listeningAddress, await taskPort?.advertisableAddress)
            }
        } else {
            self.registrar = nil
        }
    }
}
