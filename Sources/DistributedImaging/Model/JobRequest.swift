/// A client's request: process every image of a directory on shared storage.
///
/// Paths are relative to the shared storage root (absolute paths inside the root are accepted
/// and made relative by ``SharedStorage``).
public struct JobRequest: Sendable, Codable, Hashable {
    /// The directory of images.
    public var inputDirectory: String
    /// Where outputs go; `nil` means the sibling `<input>-out`. Equal to or inside the input
    /// directory is refused.
    public var outputDirectory: String?
    /// The pipeline spec, e.g. `grayscale | gaussian(sigma: 2)`; default `edges`, the seed's filter.
    public var pipeline: String
    /// The output format; PNG by default.
    public var outputFormat: OutputFormat
    /// Whether to descend into sub-directories (sub-paths are kept in the output).
    public var recursive: Bool

    /// The pipeline used when a request names none: the seed's edge filter.
    public static let defaultPipeline = "edges"

    public init(
        inputDirectory: String,
        outputDirectory: String? = nil,
        pipeline: String = JobRequest.defaultPipeline,
        outputFormat: OutputFormat = .png,
        recursive: Bool = false
    ) {
        self.inputDirectory = inputDirectory
        self.outputDirectory = outputDirectory
        self.pipeline = pipeline
        self.outputFormat = outputFormat
        self.recursive = recursive
    }
}
