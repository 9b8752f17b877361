import DistributedImaging
import GRPCCore

/// The wire protocol revision this build speaks, and the check every call path makes.
///
/// Each request of `dip.v1` carries `protocol_version`; a peer that speaks another revision
/// refuses the call with `FAILED_PRECONDITION` and a message naming both revisions, which
/// callers turn into a ``DistributedImaging/DistributedImagingError`` with code
/// `invalidConfiguration`.
public enum WireProtocol {
    /// The revision this build speaks: `dip.v1` revision 1.
    public static let version = 1

    /// The software version sent beside the protocol version, for logs and status.
    public static var softwareVersion: String { DistributedImagingVersion.current }

    /// What `--version` prints: the software version and the protocol revision.
    public static var versionDescription: String {
        "\(Self.softwareVersion) (wire protocol \(Self.describe(Self.version)))"
    }

    /// A human description of the revision, e.g. `dip.v1 revision 1`.
    public static func describe(_ version: Int) -> String {
        version == 0 ? "no protocol version" : "dip.v1 revision \(version)"
    }

    /// The revision as sent on the wire.
    static var wireValue: Dip_V1_ProtocolVersion { Dip_V1_ProtocolVersion(rawValue: Self.version) ?? .unspecified }

    /// Refuses a request whose revision is not ours.
    ///
    /// - Parameters:
    ///   - received: The request's `protocol_version`.
    ///   - role: Who checks ("dip-server", "dip-node"), for the message.
    /// - Throws: `RPCError` with code `failedPrecondition` naming both revisions.
    static func check(_ received: Dip_V1_ProtocolVersion, by role: String) throws(RPCError) {
        guard received.rawValue != Self.version else { return }
        throw RPCError(
            code: .failedPrecondition,
            message: "protocol version mismatch: the caller speaks \(Self.describe(received.rawValue)), "
                + "this \(role) speaks \(Self.describe(Self.version)) (software \(Self.softwareVersion)); "
                + "run the same DistributedImaging release everywhere",
            metadata: [ErrorMetadata.codeKey: .string(DistributedImagingError.Code.invalidConfiguration.description)]
        )
    }
}
