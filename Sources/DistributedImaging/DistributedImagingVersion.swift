/// The version of this package and the wire protocol it speaks.
public enum DistributedImagingVersion {
    /// The package version.
    public static let current = "0.1.0"
}
