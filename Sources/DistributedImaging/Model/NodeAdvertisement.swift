/// What a node tells the server about itself when it registers, and what status calls report.
///
/// A transport carries it; ``NodeMembership`` lists nodes by it.
public struct NodeAdvertisement: Sendable, Hashable, Codable {
    /// How the server learnt about a node.
    public enum Source: String, Sendable, Hashable, Codable {
        /// Listed in the server's configuration.
        case `static`
        /// Registered itself (over the transport, e.g. gRPC's `dip.v1.RegistryService`).
        case registered
    }

    /// The node's name, unique in its cluster.
    public var name: NodeID
    /// `HOST:PORT` where the server reaches the node.
    public var address: String
    /// The node's policy, when known.
    public var policy: SchedulingPolicy?
    /// The simulated load, 0...1.
    public var load: Double
    /// Accepted tasks held at once.
    public var maxConcurrentTasks: Int
    /// Tasks in flight (status only).
    public var activeTasks: Int
    /// The node's software version.
    public var softwareVersion: String
    /// Static or registered.
    public var source: Source
    /// A server's status only: its placements on the node since it started.
    public var activity: ClusterActivity.NodeActivity?
    /// A server's status only: `true` while the server skips the node because its last call
    /// failed (unreachable or past the task deadline) less than a heartbeat interval ago.
    public var suspect: Bool?

    /// Creates an advertisement.
    public init(
        name: NodeID, address: String, policy: SchedulingPolicy? = nil, load: Double = 0, maxConcurrentTasks: Int = 0,
        activeTasks: Int = 0, softwareVersion: String = DistributedImagingVersion.current, source: Source = .registered,
        activity: ClusterActivity.NodeActivity? = nil, suspect: Bool? = nil
    ) {
        self.name = name
        self.address = address
        self.policy = policy
        self.load = load
        self.maxConcurrentTasks = maxConcurrentTasks
        self.activeTasks = activeTasks
        self.softwareVersion = softwareVersion
        self.source = source
        self.activity = activity
        self.suspect = suspect
    }
}
