/// A server's or node's answer to a status call (gRPC's `dip.v1.HealthService/GetStatus`).
public struct PeerStatus: Sendable, Hashable, Codable {
    /// Which executable answered.
    public enum Role: String, Sendable, Hashable, Codable {
        case server
        case node
    }

    /// Which executable answered.
    public var role: Role
    /// The wire protocol revision the peer speaks; 0 until a transport sends the status (the
    /// gRPC transport puts its `WireProtocol.version` in an answer that has none).
    public var protocolVersion: Int
    /// The peer's software version.
    public var softwareVersion: String
    /// Whether the peer accepts work (a draining node answers `false`).
    public var serving: Bool
    /// A node: itself.
    public var node: NodeAdvertisement?
    /// A server: the nodes it places tasks on (with their ``NodeAdvertisement/activity``).
    public var nodes: [NodeAdvertisement]
    /// A server: the jobs it is running.
    public var jobs: [ClusterActivity.Job]

    /// Creates a status; the software version defaults to this build's.
    public init(
        role: Role, protocolVersion: Int = 0, softwareVersion: String = DistributedImagingVersion.current,
        serving: Bool = true, node: NodeAdvertisement? = nil, nodes: [NodeAdvertisement] = [],
        jobs: [ClusterActivity.Job] = []
    ) {
        self.role = role
        self.protocolVersion = protocolVersion
        self.softwareVersion = softwareVersion
        self.serving = serving
        self.node = node
        self.nodes = nodes
        self.jobs = jobs
    }
}

extension PeerStatus {
    /// A server's status: `nodes` with the activity `activity` saw on each, and its running jobs.
    ///
    /// Every node with tasks in flight is listed, also one that is no longer in `nodes` (a node
    /// dropped for missing its health checks, whose calls are being given up), so the operator
    /// sees where a job's work is. A node is `suspect` when `health` skips it or it was given as
    /// suspect in `nodes` (it does not answer its health check).
    public init(role: Role, activity: ClusterActivity, nodes: [NodeAdvertisement], health: NodeHealth? = nil) {
        let seen = activity.nodes
        var listed = nodes.map { node in
            var node = node
            node.activity = seen[node.name] ?? ClusterActivity.NodeActivity()
            let skipped = health?.isSuspect(node.name) ?? false
            if health != nil || node.suspect != nil { node.suspect = skipped || node.suspect == true }
            return node
        }
        let names = Set(listed.map(\.name))
        for (name, work) in seen.sorted(by: { $0.key < $1.key }) where work.inFlight > 0 && !names.contains(name) {
            listed.append(NodeAdvertisement(name: name, address: "", activity: work, suspect: true))
        }
        self.init(role: role, nodes: listed, jobs: activity.jobs)
    }
}
