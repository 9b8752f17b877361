/// A server's or node's answer to `dip.v1.HealthService/GetStatus`.
public struct PeerStatus: Sendable, Hashable, Codable {
    /// Which executable answered.
    public enum Role: String, Sendable, Hashable, Codable {
        case server
        case node
    }

    /// Which executable answered.
    public var role: Role
    /// The protocol revision the peer speaks (compare with ``WireProtocol/version``).
    public var protocolVersion: Int
    /// The peer's software version.
    public var softwareVersion: String
    /// Whether the peer accepts work (a draining node answers `false`).
    public var serving: Bool
    /// A node: itself.
    public var node: NodeAdvertisement?
    /// A server: the nodes it places tasks on.
    public var nodes: [NodeAdvertisement]

    /// Creates a status; the versions default to this build's.
    public init(
        role: Role, protocolVersion: Int = WireProtocol.version, softwareVersion: String = WireProtocol.softwareVersion,
        serving: Bool = true, node: NodeAdvertisement? = nil, nodes: [NodeAdvertisement] = []
    ) {
        self.role = role
        self.protocolVersion = protocolVersion
        self.softwareVersion = softwareVersion
        self.serving = serving
        self.node = node
        self.nodes = nodes
    }
}
