public import Logging

extension LocalCluster {
    /// A demonstration cluster as `dip-client submit --embedded` describes it: the nodes (count,
    /// policy, loads, delay, slots) and the server's dispatch settings, each with the command's
    /// default. ``LocalCluster/init(storageRoot:options:store:logger:)`` checks every value.
    public struct Options: Sendable {
        /// How many nodes, named `node-1`….
        public var nodes = 4
        /// Every node's policy.
        public var policy: SchedulingPolicy = .optional
        /// Loads as text, one for every node or one per node (`0.8,0.2`); `nil` for the
        /// ``LocalCluster/demoLoads`` repeated.
        public var loads: String?
        /// The injected delay in seconds (the demonstration's 0.5; the library's default is 3).
        public var delay = 0.5
        /// Every node's slots.
        public var slots = NodeConfiguration.defaultMaxConcurrentTasks
        /// Whether every node flushes its outputs to disk.
        public var durableWrites = false
        /// The placement's name (see ``PlacementStrategy``).
        public var placement = PlacementStrategy.defaultStrategy.rawValue
        /// Attempts per task before it fails; `nil` keeps searching.
        public var maxAttempts: Int?
        /// The server's bound on tasks in flight.
        public var maxConcurrentTasks = ServerConfiguration.defaultMaxConcurrentTasks
        /// Seconds a job may run before its tasks still searching for a node fail; `nil` for none.
        public var jobTimeout: Double?
        /// The dispatch order's name (see ``DispatchOrder``).
        public var dispatchOrder = DispatchOrder.largestFirst.rawValue
        /// Tasks the server keeps on one node, per slot or `unbounded` (see ``NodeRoom``).
        public var nodeRoom = NodeRoom.default.description
        /// Seeds every random choice; see ``LocalCluster/init(storageRoot:nodes:server:seed:placement:registry:codec:store:threadPool:logger:)``.
        public var seed: UInt64?

        public init() {}

        /// The nodes' settings.
        ///
        /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` naming the bad value.
        public func nodeConfigurations() throws -> [NodeConfiguration] {
            try LocalCluster.nodeConfigurations(
                count: self.nodes, policy: self.policy, loads: try LocalCluster.loads(parsing: self.loads, count: self.nodes),
                delay: self.delay, maxConcurrentTasks: self.slots, durableWrites: self.durableWrites)
        }

        /// The server's settings.
        ///
        /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` naming the bad value.
        public func serverConfiguration() throws -> ServerConfiguration {
            var server = ServerConfiguration.defaults
            server.maxAttempts = self.maxAttempts
            server.maxConcurrentTasks = self.maxConcurrentTasks
            if let seconds = self.jobTimeout {
                guard seconds.isFinite, seconds > 0, seconds <= 31_536_000 else {
                    throw DistributedImagingError.invalidConfiguration(
                        "jobTimeout (--job-timeout): must be more than 0 and at most 31536000 seconds, not \(seconds)")
                }
                server.jobTimeout = .seconds(seconds)
            }
            server.dispatchOrder = try DispatchOrder(parsing: self.dispatchOrder, key: "dispatchOrder (--dispatch-order)")
            server.nodeRoom = try NodeRoom(parsing: self.nodeRoom, key: "nodeRoom (--node-room)")
            try server.validate()
            return server
        }

        /// One line for people: `4 optional nodes (node-1 0.8, …), random placement, delay 0.5 s, seed 42`.
        public var summary: String {
            let nodes = (try? self.nodeConfigurations()) ?? []
            let loads = nodes.map { "\($0.name) \($0.load)" }.joined(separator: ", ")
            return "\(self.nodes) \(self.policy) nodes (\(loads)), \(self.placement) placement, delay \(self.delay) s"
                + (self.seed.map { ", seed \($0)" } ?? "")
        }
    }

    /// A demonstration cluster described by `options` on the storage at `storageRoot`.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` naming the bad value,
    ///   or `notFound` when the storage root does not exist.
    public convenience init(
        storageRoot: String, options: Options, store: any JobStore = InMemoryJobStore(),
        logger: Logger = Logger(label: "DistributedImaging", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws {
        try self.init(
            storageRoot: storageRoot, nodes: try options.nodeConfigurations(), server: try options.serverConfiguration(),
            seed: options.seed, placement: try PlacementStrategy(parsing: options.placement, key: "placement (--placement)").makePlacement(),
            store: store, logger: logger)
    }
}
