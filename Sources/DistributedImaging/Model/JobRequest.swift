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
    /// Process every image even when it is already complete.
    ///
    /// By default an image is skipped (status ``JobReceipt/Outcome/skipped``, with the reason)
    /// when the output directory's `receipt.json` lists it as complete — succeeded, or skipped as
    /// complete — for the same canonical pipeline and output path, and that output file exists.
    public var force: Bool
    /// When set, only these inputs (paths relative to the storage root, as a receipt lists them)
    /// are processed; the directory's other images are skipped. `dip-client submit --only-failed`
    /// fills it from a receipt's failures.
    public var only: [String]?

    /// The pipeline used when a request names none: the seed's edge filter.
    public static let defaultPipeline = "edges"

    public init(
        inputDirectory: String,
        outputDirectory: String? = nil,
        pipeline: String = JobRequest.defaultPipeline,
        outputFormat: OutputFormat = .png,
        recursive: Bool = false,
        force: Bool = false,
        only: [String]? = nil
    ) {
        self.inputDirectory = inputDirectory
        self.outputDirectory = outputDirectory
        self.pipeline = pipeline
        self.outputFormat = outputFormat
        self.recursive = recursive
        self.force = force
        self.only = only
    }

    // Decoding tolerates requests written before `force` and `only` existed.
    private enum CodingKeys: String, CodingKey {
        case inputDirectory, outputDirectory, pipeline, outputFormat, recursive, force, only
    }

    /// Decodes a request; `force` defaults to `false` and `only` to `nil` when absent.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.inputDirectory = try container.decode(String.self, forKey: .inputDirectory)
        self.outputDirectory = try container.decodeIfPresent(String.self, forKey: .outputDirectory)
        self.pipeline = try container.decode(String.self, forKey: .pipeline)
        self.outputFormat = try container.decode(OutputFormat.self, forKey: .outputFormat)
        self.recursive = try container.decode(Bool.self, forKey: .recursive)
        self.force = try container.decodeIfPresent(Bool.self, forKey: .force) ?? false
        self.only = try container.decodeIfPresent([String].self, forKey: .only)
    }
}
