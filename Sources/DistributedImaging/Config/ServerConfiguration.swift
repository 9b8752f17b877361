/// The server's settings: how often to re-place a task and how many tasks to keep in flight.
///
/// Its `Codable` keys are the property names; every key is optional and defaults as below.
public struct ServerConfiguration: Sendable, Hashable, Codable {
    /// Placements tried per task, rejections and unreachable nodes included, before the task
    /// fails; `nil` (the default) keeps searching, as the seed design says, until a node accepts,
    /// the job is cancelled or ``jobTimeout`` passes. Config key `maxAttempts` (unset for none).
    public var maxAttempts: Int?
    /// The longest a job may run; past it the tasks still searching for a node, and those not
    /// started, fail with the reason (default `nil`: no limit). Checked before each attempt and
    /// after each back-off; a task a node holds is not interrupted by it. Config key
    /// `jobTimeout`, in seconds.
    public var jobTimeout: Duration?
    /// The order a job's tasks are dispatched in (default ``DispatchOrder/largestFirst``).
    /// Config key `dispatchOrder`.
    public var dispatchOrder: DispatchOrder = .largestFirst
    /// Tasks of one job in flight at once (the dispatch bound; default 64).
    public var maxConcurrentTasks: Int
    /// How many tasks the server keeps on one node at once, over all its jobs (default 2 per
    /// slot; ``NodeRoom/unbounded`` is the seed's dispatch). Config key `nodeRoom`: a number of
    /// tasks per slot or `"unbounded"`.
    public var nodeRoom: NodeRoom = .default
    /// Seeds placements and job ids; `nil` draws a seed from the system.
    public var seed: UInt64?
    /// Images one job may hold; a larger job is refused before any task runs (default 100 000).
    public var maxImagesPerJob: Int = ServerConfiguration.defaultMaxImagesPerJob
    /// The longest a node may spend on one task once it holds a slot — injected delay and
    /// processing, not the wait in the node's queue (default 10 minutes; `nil` for no limit).
    /// Past it the node fails the task with the reason. A node that stops answering altogether
    /// is dropped by its missed health checks instead, and its tasks are placed again.
    ///
    /// Config key `taskTimeout`, in seconds (`0` for no limit).
    public var taskTimeout: Duration? = ServerConfiguration.defaultTaskTimeout

    /// Default ``taskTimeout``: 10 minutes, far above any one image's work (a 100 MP image takes
    /// seconds), so it only ends tasks that are stuck.
    public static let defaultTaskTimeout: Duration? = .seconds(600)

    /// How long running jobs may go on once graceful shutdown began (default 30 s). Config key
    /// `shutdownGracePeriod`, in seconds.
    public var shutdownGracePeriod: Duration = ServerConfiguration.defaultShutdownGracePeriod
    /// How long an ended job stays in the server's job store before it is pruned (default 7
    /// days). Config key `jobRetention`, in seconds.
    public var jobRetention: Duration = ServerConfiguration.defaultJobRetention

    /// Default ``shutdownGracePeriod``.
    public static let defaultShutdownGracePeriod: Duration = .seconds(30)
    /// Default ``jobRetention``: 7 days.
    public static let defaultJobRetention: Duration = .seconds(7 * 86_400)

    /// Default ``maxImagesPerJob``.
    public static let defaultMaxImagesPerJob = 100_000

    /// Default ``maxAttempts``: none, keep searching.
    public static let defaultMaxAttempts: Int? = nil
    /// Default ``maxConcurrentTasks``.
    public static let defaultMaxConcurrentTasks = 64

    /// Creates server settings.
    public init(
        maxAttempts: Int? = ServerConfiguration.defaultMaxAttempts,
        maxConcurrentTasks: Int = ServerConfiguration.defaultMaxConcurrentTasks,
        seed: UInt64? = nil,
        jobTimeout: Duration? = nil
    ) {
        self.maxAttempts = maxAttempts
        self.jobTimeout = jobTimeout
        self.maxConcurrentTasks = maxConcurrentTasks
        self.seed = seed
    }

    /// The defaults.
    public static var defaults: Self { Self() }

    /// The defaults, adjusted by `configure`.
    public static func defaults(configure: (inout Self) -> Void) -> Self {
        var configuration = Self()
        configure(&configuration)
        return configuration
    }

    /// Checks every value.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` naming the key and
    ///   the bad value.
    public func validate() throws {
        if let maxAttempts = self.maxAttempts, !(1...1_000_000).contains(maxAttempts) {
            throw DistributedImagingError.invalidConfiguration(
                "server: maxAttempts must be 1...1000000 (or unset to keep searching), not \(maxAttempts)")
        }
        if let timeout = self.jobTimeout, timeout <= .zero || timeout > .seconds(365 * 86_400) {
            throw DistributedImagingError.invalidConfiguration(
                "server: jobTimeout must be more than 0 and at most 365 days (or unset for no limit), not \(timeout)")
        }
        guard (1...1_000_000).contains(self.maxConcurrentTasks) else {
            throw DistributedImagingError.invalidConfiguration(
                "server: maxConcurrentTasks must be 1...1000000, not \(self.maxConcurrentTasks)")
        }
        if let timeout = self.taskTimeout, timeout <= .zero || timeout > .seconds(7 * 86_400) {
            throw DistributedImagingError.invalidConfiguration(
                "server: taskTimeout must be more than 0 and at most 7 days (or unset for no limit), not \(timeout)")
        }
        guard self.shutdownGracePeriod >= .zero && self.shutdownGracePeriod <= .seconds(86_400) else {
            throw DistributedImagingError.invalidConfiguration(
                "server: shutdownGracePeriod must be 0...86400 seconds, not \(self.shutdownGracePeriod)")
        }
        guard self.jobRetention >= .zero && self.jobRetention <= .seconds(3650 * 86_400) else {
            throw DistributedImagingError.invalidConfiguration(
                "server: jobRetention must be 0...315360000 seconds (10 years), not \(self.jobRetention)")
        }
        try self.nodeRoom.validate(key: "server: nodeRoom")
        guard self.maxImagesPerJob >= 1 else {
            throw DistributedImagingError.invalidConfiguration(
                "server: maxImagesPerJob must be at least 1, not \(self.maxImagesPerJob)")
        }
    }

    private enum CodingKeys: String, CodingKey {
        case maxAttempts, maxConcurrentTasks, seed, maxImagesPerJob, jobTimeout, dispatchOrder, nodeRoom
    }

    /// Decodes settings; omitted keys take their defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            maxAttempts: try container.decodeIfPresent(Int.self, forKey: .maxAttempts) ?? Self.defaultMaxAttempts,
            maxConcurrentTasks: try container.decodeIfPresent(Int.self, forKey: .maxConcurrentTasks)
                ?? Self.defaultMaxConcurrentTasks,
            seed: try container.decodeIfPresent(UInt64.self, forKey: .seed)
        )
        self.maxImagesPerJob =
            try container.decodeIfPresent(Int.self, forKey: .maxImagesPerJob) ?? Self.defaultMaxImagesPerJob
        if let seconds = try container.decodeIfPresent(Double.self, forKey: .jobTimeout) {
            guard seconds.isFinite, seconds > 0, seconds <= 365 * 86_400 else {
                throw DistributedImagingError.invalidConfiguration(
                    "server: jobTimeout must be more than 0 and at most 31536000 seconds (or unset for no limit), not \(seconds)")
            }
            self.jobTimeout = .seconds(seconds)
        }
        if let order = try container.decodeIfPresent(String.self, forKey: .dispatchOrder) {
            self.dispatchOrder = try DispatchOrder(parsing: order, key: "server: dispatchOrder")
        }
        self.nodeRoom = try container.decodeIfPresent(NodeRoom.self, forKey: .nodeRoom) ?? .default
    }

    /// Encodes the Codable keys (`jobTimeout` in seconds).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(self.maxAttempts, forKey: .maxAttempts)
        try container.encode(self.maxConcurrentTasks, forKey: .maxConcurrentTasks)
        try container.encodeIfPresent(self.seed, forKey: .seed)
        try container.encode(self.maxImagesPerJob, forKey: .maxImagesPerJob)
        try container.encodeIfPresent(self.jobTimeout?.seconds, forKey: .jobTimeout)
        try container.encode(self.dispatchOrder.rawValue, forKey: .dispatchOrder)
        try container.encode(self.nodeRoom, forKey: .nodeRoom)
    }
}

/// The order a job's tasks are dispatched in (`server.dispatchOrder`, `--dispatch-order`).
public enum DispatchOrder: String, Sendable, Hashable, Codable, CaseIterable, NamedSetting {
    /// As the input lists them (sorted by path).
    case submission
    /// Largest input file first (classic LPT: longest processing time first, with the file size
    /// standing in for the time); equal sizes keep their submission order. The default: a job
    /// ends no later than its largest image does, so that one should start first. It costs one
    /// `stat` per input before the first task is placed.
    case largestFirst = "largest-first"

    public static let settingKey = "server.dispatchOrder (--dispatch-order)"
}
