/// The version of this package (the wire protocol revision is `WireProtocol.version` in
/// DistributedImagingGRPC).
public enum DistributedImagingVersion {
    /// The package version.
    public static let current = "0.1.0"
}
