/// Decode → pipeline → encode for one file: the work of one task.
public struct ImageProcessor: Sendable {
    /// The parsed pipeline.
    public let pipeline: Pipeline
    /// The codec and its limits.
    public let codec: ImageCodec

    public init(pipeline: Pipeline, codec: ImageCodec = .default) {
        self.pipeline = pipeline
        self.codec = codec
    }

    /// Parses `pipeline` with `registry`.
    public init(pipeline spec: String, registry: FilterRegistry = .standard, codec: ImageCodec = .default) throws {
        self.init(pipeline: try Pipeline(parsing: spec, registry: registry), codec: codec)
    }

    /// Reads and decodes the file `input`, runs the pipeline and returns the encoded output.
    public func encodedOutput(forInput input: String, format: OutputFormat) throws -> [UInt8] {
        let bytes = try FileIO.readFile(atPath: input, maxBytes: self.codec.limits.maxFileBytes)
        return try self.encodedOutput(decoding: bytes, name: input, format: format)
    }

    /// Decodes `bytes` (a PNG or JPEG; `name` labels errors), runs the pipeline and returns the
    /// encoded output. Nodes and `dip-client apply` both come through here, so a job's outputs
    /// are the bytes `apply` writes.
    public func encodedOutput(decoding bytes: [UInt8], name: String, format: OutputFormat) throws -> [UInt8] {
        let image = try self.codec.decode(bytes, name: name)
        let filtered: Image
        do {
            filtered = try self.pipeline.apply(unshared: consume image)
        } catch let error as DistributedImagingError {
            throw DistributedImagingError(code: error.code, message: "\(name): \(error.message)")
        }
        return try self.codec.encode(filtered, as: format)
    }

    /// Decodes `input`, runs the pipeline and writes `output` atomically (a temporary file in the
    /// same directory, then a rename): a reader never sees a partial file, and nothing is
    /// written when any step fails.
    public func process(input: String, output: String, format: OutputFormat) throws {
        let bytes = try self.encodedOutput(forInput: input, format: format)
        try FileIO.writeAtomically(bytes, toPath: output)
    }
}

extension OutputFormat {
    /// The format a path's extension names: `.png`, `.jpg` or `.jpeg` (any case).
    ///
    /// - Throws: `invalidArgument` naming the path for any other extension.
    public init(forPath path: String, quality: Int = 95, compressionLevel: Int = 1) throws {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let ext = name.split(separator: ".").count > 1 ? name.split(separator: ".").last.map { $0.lowercased() } : nil
        switch ext {
        case "png": self = .png(compressionLevel: compressionLevel)
        case "jpg", "jpeg": self = .jpeg(quality: quality)
        default:
            throw DistributedImagingError(
                code: .invalidArgument, message: "\(path): unknown output format; use a .png, .jpg or .jpeg name")
        }
        try self.validate()
    }
}
