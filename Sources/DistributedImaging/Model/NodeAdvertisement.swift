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
    /// The load, 0...1: the configured number, or under ``NodeLoad/Mode/auto`` the node's
    /// measured occupancy when it sent this.
    public var load: Double
    /// Whether ``load`` is fixed or measured; `nil`: not told (an older node).
    public var loadMode: NodeLoad.Mode?
    /// Accepted tasks held at once.
    public var maxConcurrentTasks: Int
    /// Accepted tasks holding a slot on the node (its busy slots) when it sent this.
    public var activeTasks: Int
    /// Accepted tasks waiting for a slot on the node when it sent this; `nil`: not told.
    public var queuedTasks: Int?
    /// The node's software version.
    public var softwareVersion: String
    /// Static or registered.
    public var source: Source
    /// A server's status only: its placements on the node since it started.
    public var activity: ClusterActivity.NodeActivity?
    /// A server's status only: `true` while the server skips the node because its last call
    /// failed (unreachable or past the task deadline) less than a heartbeat interval ago.
    public var suspect: Bool?
    /// `HOST:PORT` of the node's task port, where a transport that has one carries tasks without
    /// its usual protocol (the gRPC transport: the task stream without HTTP/2); `nil`: none.
    public var taskAddress: String?

    /// Creates an advertisement.
    public init(
        name: NodeID, address: String, policy: SchedulingPolicy? = nil, load: Double = 0, maxConcurrentTasks: Int = 0,
        activeTasks: Int = 0, softwareVersion: String = DistributedImagingVersion.current, source: Source = .registered,
        activity: ClusterActivity.NodeActivity? = nil, suspect: Bool? = nil, loadMode: NodeLoad.Mode? = nil,
        queuedTasks: Int? = nil, taskAddress: String? = nil
    ) {
        self.taskAddress = taskAddress
        self.loadMode = loadMode
        self.queuedTasks = queuedTasks
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

    /// A node's own advertisement, its policy, load and occupancy taken from `state`.
    public init(
        name: NodeID, address: String, state: NodeState, softwareVersion: String = DistributedImagingVersion.current,
        taskAddress: String? = nil
    ) {
        self.init(
            name: name, address: address, policy: state.policy, load: state.load, maxConcurrentTasks: state.slots ?? 0,
            activeTasks: state.busySlots, softwareVersion: softwareVersion, loadMode: state.loadMode,
            queuedTasks: state.queueLength, taskAddress: taskAddress)
    }

    /// What placements read of the node: its policy, load, slots, busy slots and queue as it
    /// advertised them (``NodeState/slots`` `nil` when it did not say).
    public var nodeState: NodeState {
        NodeState(
            policy: self.policy, load: self.load, loadMode: self.loadMode,
            slots: self.maxConcurrentTasks > 0 ? self.maxConcurrentTasks : nil, busySlots: self.activeTasks,
            queueLength: self.queuedTasks ?? 0)
    }
}
