public import DistributedImaging

/// The `server` section of a ``DeploymentConfiguration``: what `dip-server` listens on, where
/// the shared storage is mounted, how it places tasks, and its static nodes.
public struct ServerSettings: Sendable, Hashable, Codable {
    /// A node listed in the configuration rather than registering itself.
    public struct StaticNode: Sendable, Hashable, Codable {
        /// The node's name (its `--name`).
        public var name: String
        /// `HOST:PORT` where the node listens (its `--advertise`, or `--listen`).
        public var address: String

        /// A static node.
        public init(name: String, address: String) {
            self.name = name
            self.address = address
        }
    }

    /// Where to listen (flag `--listen`; default `0.0.0.0:7000`).
    public var listen: String
    /// Where the Prometheus endpoint `GET /metrics` listens (key `metricsListen`, flag
    /// `--metrics-listen`; default: no endpoint).
    public var metricsListen: String?
    /// The server's mount of the shared storage (flag `--storage-root`; no default).
    public var storageRoot: String?
    /// Placements tried per task before it fails (key `maxAttempts`, flag `--max-attempts`;
    /// default none: keep searching until a node accepts, the job is cancelled or
    /// ``jobTimeout`` passes).
    public var maxAttempts: Int?
    /// Seconds a job may run before the tasks still searching for a node fail (key
    /// `jobTimeout`, flag `--job-timeout`; default none).
    public var jobTimeout: Double?
    /// The order a job's tasks are dispatched in (key `dispatchOrder`, flag `--dispatch-order`):
    /// `largest-first` (decreasing input size; default) or `submission`.
    public var dispatchOrder: String = DispatchOrder.largestFirst.rawValue
    /// Tasks of one job in flight at once (default 64).
    public var maxConcurrentTasks: Int
    /// How many tasks the server keeps on one node at once, over all its jobs (key `nodeRoom`,
    /// flag `--node-room`): a number of tasks per slot, 1...1000 (default 2), or `"unbounded"`
    /// for the seed's dispatch (a node queues whatever placement sends it).
    public var nodeRoom: NodeRoom = .default
    /// Seeds placements and job ids; unset draws one from the system.
    public var seed: UInt64?
    /// Seconds between a registered node's heartbeats (default 5); a node silent for three
    /// intervals is not placed on until it registers again.
    public var heartbeatInterval: Double
    /// The longest a node may spend on one task once it holds a slot, in seconds — injected delay
    /// and processing, not the wait in the node's queue (default 600; `0` for no limit). A node
    /// that stops answering is dropped by its missed health checks instead.
    public var taskTimeout: Double?
    /// Nodes known without registration (default none).
    public var nodes: [StaticNode]
    /// Seconds running jobs may continue after SIGTERM/SIGINT before their remaining tasks fail
    /// (flag `--shutdown-grace-period`; default 30).
    public var shutdownGracePeriod: Double = ServerConfiguration.defaultShutdownGracePeriod.seconds
    /// Where the server keeps its job store and lock (flag `--state-dir`; default
    /// ``defaultStateDirectory(environment:)``). Local to the server: never on the shared storage.
    public var stateDirectory: String?
    /// Seconds an ended job stays in the store before it is pruned (flag `--job-retention`;
    /// default 604800, 7 days).
    public var jobRetention: Double = ServerConfiguration.defaultJobRetention.seconds
    /// Images one job may hold (flag `--max-images`; default 100 000).
    public var maxImagesPerJob = ServerConfiguration.defaultMaxImagesPerJob

    /// Calls one client connection may have open at once, announced to clients as HTTP/2
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` (flag `--max-concurrent-streams`; default 256,
    /// 1...100000); a client past it waits for one of its calls to end.
    public var maxConcurrentStreams = GRPCEndpoint.defaultMaxConcurrentStreams

    /// How the server picks the node for each attempt (key `placement`, flag `--placement`):
    /// `random` (the seed's rule, the default), `p2c` (power of two choices on the nodes'
    /// advertised load and queue), `least-loaded` or `untried-first` (see
    /// ``DistributedImaging/PlacementStrategy``). gRPC nodes advertise their state in their
    /// registrations and heartbeats (configured ones in their answers to the server's health
    /// checks); among nodes that have told nothing yet `p2c` and `least-loaded` pick uniformly
    /// at random.
    public var placement: String = PlacementStrategy.defaultStrategy.rawValue

    /// The shared token and TLS files (key `security`; default: no token, plaintext).
    public var security = SecuritySettings()

    /// The default ``taskTimeout`` in seconds: ``DistributedImaging/ServerConfiguration/defaultTaskTimeout``.
    public static let defaultTaskTimeout: Double? = ServerConfiguration.defaultTaskTimeout.map { $0.seconds }

    /// The state directory used when none is configured: `$XDG_STATE_HOME/dip-server`, else
    /// `$HOME/.local/state/dip-server`.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`
    ///   when neither variable is set.
    public static func defaultStateDirectory(environment: [String: String]) throws -> String {
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") { return state + "/dip-server" }
        if let home = environment["HOME"], home.hasPrefix("/") { return home + "/.local/state/dip-server" }
        throw DistributedImagingError(
            code: .invalidConfiguration,
            message: "server.stateDirectory (--state-dir): not set, and neither XDG_STATE_HOME nor HOME names a directory")
    }

    /// The state directory to use: the configured one, else the default.
    public func resolvedStateDirectory(environment: [String: String]) throws -> String {
        try self.stateDirectory ?? Self.defaultStateDirectory(environment: environment)
    }

    /// The default listening address.
    public static let defaultListen = "0.0.0.0:7000"

    /// The defaults.
    public init(
        listen: String = ServerSettings.defaultListen, storageRoot: String? = nil,
        maxAttempts: Int? = ServerConfiguration.defaultMaxAttempts,
        maxConcurrentTasks: Int = ServerConfiguration.defaultMaxConcurrentTasks, seed: UInt64? = nil,
        heartbeatInterval: Double = 5, taskTimeout: Double? = ServerSettings.defaultTaskTimeout,
        nodes: [StaticNode] = []
    ) {
        self.listen = listen
        self.storageRoot = storageRoot
        self.maxAttempts = maxAttempts
        self.maxConcurrentTasks = maxConcurrentTasks
        self.seed = seed
        self.heartbeatInterval = heartbeatInterval
        self.taskTimeout = taskTimeout
        self.nodes = nodes
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case listen, storageRoot, maxAttempts, maxConcurrentTasks, seed, heartbeatInterval, taskTimeout, nodes, security
        case maxImagesPerJob, shutdownGracePeriod, metricsListen, maxConcurrentStreams, stateDirectory, jobRetention
        case placement, jobTimeout, dispatchOrder, nodeRoom
    }

    /// Decodes the section; omitted keys take their defaults, unknown keys are refused.
    public init(from decoder: any Decoder) throws {
        try ConfigurationKeys.refuseUnknown(in: decoder, known: CodingKeys.allCases.map(\.rawValue), section: "server")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = Self()
        self.listen = try container.decodeIfPresent(String.self, forKey: .listen) ?? defaults.listen
        self.metricsListen = try container.decodeIfPresent(String.self, forKey: .metricsListen)
        self.storageRoot = try container.decodeIfPresent(String.self, forKey: .storageRoot)
        self.maxAttempts = try container.decodeIfPresent(Int.self, forKey: .maxAttempts) ?? defaults.maxAttempts
        self.maxConcurrentTasks =
            try container.decodeIfPresent(Int.self, forKey: .maxConcurrentTasks) ?? defaults.maxConcurrentTasks
        self.seed = try container.decodeIfPresent(UInt64.self, forKey: .seed)
        self.heartbeatInterval =
            try container.decodeIfPresent(Double.self, forKey: .heartbeatInterval) ?? defaults.heartbeatInterval
        self.taskTimeout = try container.decodeIfPresent(Double.self, forKey: .taskTimeout) ?? defaults.taskTimeout
        self.nodes = try container.decodeIfPresent([StaticNode].self, forKey: .nodes) ?? []
        self.maxImagesPerJob =
            try container.decodeIfPresent(Int.self, forKey: .maxImagesPerJob) ?? ServerConfiguration.defaultMaxImagesPerJob
        self.shutdownGracePeriod =
            try container.decodeIfPresent(Double.self, forKey: .shutdownGracePeriod) ?? defaults.shutdownGracePeriod
        self.stateDirectory = try container.decodeIfPresent(String.self, forKey: .stateDirectory)
        self.jobRetention = try container.decodeIfPresent(Double.self, forKey: .jobRetention) ?? defaults.jobRetention
        self.security = try container.decodeIfPresent(SecuritySettings.self, forKey: .security) ?? SecuritySettings()
        self.placement = try container.decodeIfPresent(String.self, forKey: .placement) ?? defaults.placement
        self.maxConcurrentStreams =
            try container.decodeIfPresent(Int.self, forKey: .maxConcurrentStreams) ?? GRPCEndpoint.defaultMaxConcurrentStreams
        self.jobTimeout = try container.decodeIfPresent(Double.self, forKey: .jobTimeout)
        self.dispatchOrder = try container.decodeIfPresent(String.self, forKey: .dispatchOrder) ?? defaults.dispatchOrder
        self.nodeRoom = try container.decodeIfPresent(NodeRoom.self, forKey: .nodeRoom) ?? defaults.nodeRoom
    }

    /// The placement settings for ``DistributedImaging/ImagingServer``, checked.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`.
    public func serverConfiguration() throws -> ServerConfiguration {
        var configuration = ServerConfiguration(
            maxAttempts: self.maxAttempts, maxConcurrentTasks: self.maxConcurrentTasks, seed: self.seed)
        configuration.maxImagesPerJob = self.maxImagesPerJob
        configuration.taskTimeout = self.taskTimeout.flatMap { $0 == 0 ? nil : .seconds(double: $0) }
        configuration.shutdownGracePeriod = .seconds(double: self.shutdownGracePeriod)
        configuration.jobRetention = .seconds(double: self.jobRetention)
        if let timeout = self.jobTimeout {
            guard timeout.isFinite, timeout > 0, timeout <= 31_536_000 else {
                throw DistributedImagingError(
                    code: .invalidConfiguration,
                    message: "server.jobTimeout (--job-timeout): must be more than 0 and at most 31536000 seconds, not \(timeout)")
            }
            configuration.jobTimeout = .seconds(double: timeout)
        }
        configuration.dispatchOrder = try DispatchOrder(parsing: self.dispatchOrder, key: "server.dispatchOrder (--dispatch-order)")
        configuration.nodeRoom = self.nodeRoom
        if let maxAttempts = self.maxAttempts, !(1...1_000_000).contains(maxAttempts) {
            throw DistributedImagingError(
                code: .invalidConfiguration,
                message: "server.maxAttempts (--max-attempts): must be 1...1000000 (or unset to keep searching), not \(maxAttempts)")
        }
        try configuration.validate()
        return configuration
    }

    /// The placement ``placement`` names.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`
    ///   naming `server.placement` and the accepted names.
    public func placementStrategy() throws -> PlacementStrategy {
        try PlacementStrategy(parsing: self.placement)
    }

    /// The shared storage at ``storageRoot``.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` naming `server.storageRoot` when it
    ///   is unset or not a directory.
    public func storage() throws -> SharedStorage {
        try openStorage(self.storageRoot, key: "server.storageRoot (--storage-root)")
    }

    /// The address to bind: ``listen`` with a host name resolved to its IP address (see
    /// ``PeerAddress/resolvedForListening(key:)``).
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`
    ///   naming the key when it is not `HOST:PORT` or its host name does not resolve.
    public func listenAddress() throws -> PeerAddress {
        try PeerAddress(parsing: self.listen, key: "server.listen (--listen)").resolvedForListening(key: "server.listen (--listen)")
    }

    /// The static nodes as ``DistributedImaging/NodeMembership`` takes them.
    public func staticNodes() throws -> [NodeAdvertisement] {
        try self.nodes.enumerated().map { index, node in
            guard !node.name.isEmpty else {
                throw DistributedImagingError(code: .invalidConfiguration, message: "server.nodes[\(index)].name is empty")
            }
            let address = try PeerAddress(parsing: node.address, key: "server.nodes[\(index)].address")
            guard !address.isWildcard, address.port != 0 else {
                throw DistributedImagingError(
                    code: .invalidConfiguration,
                    message: "server.nodes[\(index)].address: cannot call '\(node.address)'")
            }
            return NodeAdvertisement(name: NodeID(node.name), address: "\(address)", source: .static)
        }
    }

    /// Checks the network keys (the placement keys are checked by the server role).
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`
    ///   naming the key and the value.
    public func validate() throws {
        _ = try self.listenAddress()
        _ = try self.staticNodes()
        guard self.storageRoot?.isEmpty == false else {
            throw DistributedImagingError(
                code: .invalidConfiguration, message: "server.storageRoot (--storage-root): required, not set")
        }
        guard GRPCEndpoint.maxConcurrentStreamsRange.contains(self.maxConcurrentStreams) else {
            throw DistributedImagingError(
                code: .invalidConfiguration,
                message: "server.maxConcurrentStreams (--max-concurrent-streams): must be 1...100000, not \(self.maxConcurrentStreams)")
        }
        guard self.heartbeatInterval.isFinite, (0.05...3600).contains(self.heartbeatInterval) else {
            throw DistributedImagingError(
                code: .invalidConfiguration,
                message: "server.heartbeatInterval: must be 0.05...3600 seconds, not \(self.heartbeatInterval)")
        }
        guard self.shutdownGracePeriod.isFinite, (0...86400).contains(self.shutdownGracePeriod) else {
            throw DistributedImagingError(
                code: .invalidConfiguration,
                message: "server.shutdownGracePeriod (--shutdown-grace-period): must be 0...86400 seconds, not \(self.shutdownGracePeriod)")
        }
        guard self.jobRetention.isFinite, (0...315_360_000).contains(self.jobRetention) else {
            throw DistributedImagingError(
                code: .invalidConfiguration,
                message: "server.jobRetention (--job-retention): must be 0...315360000 seconds (10 years), not \(self.jobRetention)")
        }
        _ = try self.placementStrategy()
        if let directory = self.stateDirectory, directory.isEmpty {
            throw DistributedImagingError(
                code: .invalidConfiguration, message: "server.stateDirectory (--state-dir): must not be empty")
        }
        if let timeout = self.taskTimeout, !(timeout.isFinite && (0...604_800).contains(timeout)) {
            throw DistributedImagingError(
                code: .invalidConfiguration,
                message: "server.taskTimeout (--task-timeout): must be 0...604800 seconds (0 for no limit), not \(timeout)")
        }
    }
}
