/// A node's settings: its name, scheduling policy, simulated load and delay, and concurrency.
///
/// Used by ``ImagingNode`` and ``LocalCluster``, and by configuration files (its `Codable` keys
/// are the property names; every key is optional and defaults as below).
///
/// ```swift
/// let node = NodeConfiguration(name: "node-1", policy: .optional, load: 0.5)
/// try node.validate()
/// ```
public struct NodeConfiguration: Sendable, Hashable, Codable, NodeLoadSettings {
    /// The node's name, unique in its cluster.
    public var name: String
    /// How the node admits tasks.
    public var policy: SchedulingPolicy
    /// The simulated load, 0...1: the probability of rejecting a task (Optional policy) and of
    /// delaying an accepted one (both policies). Not used while ``autoLoad`` is set.
    public var load: Double
    /// Whether the node uses its measured occupancy as its load instead of ``load`` (key
    /// `load: "auto"`; default `false`). See ``NodeLoad/auto`` and ``MeasuredLoad``.
    public var autoLoad = false
    /// The injected delay in seconds (the seed's 3 s by default).
    public var delay: Double
    /// How many accepted tasks the node holds at once (waiting out a delay or processing).
    /// When full, further accepted tasks queue (under both policies; only the policy rejects).
    public var maxConcurrentTasks: Int
    /// Seeds the node's decisions; `nil` draws a seed from the system.
    public var seed: UInt64?
    /// Whether each output is flushed to disk before it is renamed into place, and its
    /// directory after (key `durableWrites`; default `false`). See
    /// ``SharedStorage/durableWrites``.
    public var durableWrites: Bool

    /// The seed's delay: 3 seconds.
    public static let defaultDelay: Double = 3
    /// Default ``maxConcurrentTasks``.
    public static let defaultMaxConcurrentTasks = 8

    /// Creates node settings.
    public init(
        name: String,
        policy: SchedulingPolicy = .mandatory,
        load: Double = 0,
        delay: Double = NodeConfiguration.defaultDelay,
        maxConcurrentTasks: Int = NodeConfiguration.defaultMaxConcurrentTasks,
        seed: UInt64? = nil,
        durableWrites: Bool = false
    ) {
        self.durableWrites = durableWrites
        self.name = name
        self.policy = policy
        self.load = load
        self.delay = delay
        self.maxConcurrentTasks = maxConcurrentTasks
        self.seed = seed
    }

    /// Settings for `name` with the defaults, adjusted by `configure`.
    public static func defaults(name: String, configure: (inout Self) -> Void = { _ in }) -> Self {
        var configuration = Self(name: name)
        configure(&configuration)
        return configuration
    }

    /// The node's ``NodeID``.
    public var nodeID: NodeID { NodeID(self.name) }

    /// The scheduler this configuration describes.
    public func makeScheduler() -> any Scheduler {
        self.policy.makeScheduler(delay: .seconds(self.delay))
    }

    /// Checks every value.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` naming the node,
    ///   the key and the bad value.
    public func validate() throws {
        if let problem = Self.nameProblem(self.name) {
            throw DistributedImagingError.invalidConfiguration(problem)
        }
        guard self.load.isFinite, (0...1).contains(self.load) else {
            throw DistributedImagingError.invalidConfiguration("node '\(self.name)': load must be in 0...1, not \(self.load)")
        }
        guard self.delay.isFinite, self.delay >= 0, self.delay <= 86_400 else {
            throw DistributedImagingError.invalidConfiguration(
                "node '\(self.name)': delay must be 0...86400 seconds, not \(self.delay)")
        }
        guard self.maxConcurrentTasks >= 1 else {
            throw DistributedImagingError.invalidConfiguration(
                "node '\(self.name)': maxConcurrentTasks must be at least 1, not \(self.maxConcurrentTasks)")
        }
    }

    /// The longest node name, in bytes of UTF-8.
    public static let maxNameLength = 128

    /// Why `name` cannot name a node (empty, too long, a space or '/' in it), or `nil` when it
    /// can: the rule for configured names and for registrations alike.
    package static func nameProblem(_ name: String) -> String? {
        if name.utf8.count > Self.maxNameLength {
            return "node name '\(Echo.excerpt(name, limit: 40))' is invalid: it must be at most \(Self.maxNameLength) bytes, "
                + "not \(name.utf8.count)"
        }
        if name.isEmpty || name.contains(where: { $0.isWhitespace || $0 == "/" }) {
            return "node name '\(Echo.excerpt(name, limit: 40))' is invalid: it must be non-empty, without spaces or '/'"
        }
        return nil
    }

    private enum CodingKeys: String, CodingKey {
        case name, policy, load, delay, maxConcurrentTasks, seed, durableWrites
    }

    /// Decodes settings; every key but `name` may be omitted and takes its default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try container.decode(String.self, forKey: .name),
            policy: try container.decodeIfPresent(SchedulingPolicy.self, forKey: .policy) ?? .mandatory,
            load: 0,
            delay: try container.decodeIfPresent(Double.self, forKey: .delay) ?? Self.defaultDelay,
            maxConcurrentTasks: try container.decodeIfPresent(Int.self, forKey: .maxConcurrentTasks)
                ?? Self.defaultMaxConcurrentTasks,
            seed: try container.decodeIfPresent(UInt64.self, forKey: .seed),
            durableWrites: try container.decodeIfPresent(Bool.self, forKey: .durableWrites) ?? false
        )
        if let load = try container.decodeIfPresent(NodeLoad.self, forKey: .load) { self.nodeLoad = load }
    }

    /// Encodes every key; `load` is a number, or `"auto"`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.name, forKey: .name)
        try container.encode(self.policy, forKey: .policy)
        try container.encode(self.nodeLoad, forKey: .load)
        try container.encode(self.delay, forKey: .delay)
        try container.encode(self.maxConcurrentTasks, forKey: .maxConcurrentTasks)
        try container.encodeIfPresent(self.seed, forKey: .seed)
        try container.encode(self.durableWrites, forKey: .durableWrites)
    }
}
