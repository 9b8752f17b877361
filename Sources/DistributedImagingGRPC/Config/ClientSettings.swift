public import DistributedImaging

/// The `client` section of a ``DeploymentConfiguration``: how `dip-client submit --server`
/// reaches the server and what it asks for by default.
public struct ClientSettings: Sendable, Hashable, Codable {
    /// The server's `HOST:PORT` (flag `--server`; no default).
    public var server: String?
    /// The client's own mount of the shared storage (flag `--storage-root`). When set, absolute
    /// paths given to the client must lie under it and are sent relative to it; when unset,
    /// paths are sent as given and the server resolves them under its root.
    public var storageRoot: String?
    /// The pipeline when `--pipeline` is not given (default `edges`).
    public var pipeline: String
    /// The output format: `png` or `jpeg` (default `png`).
    public var format: OutputFormat.Kind
    /// JPEG quality 1...100 (default 95).
    public var quality: Int

    /// The shared token and TLS files (key `security`; default: no token, plaintext).
    public var security = SecuritySettings()

    /// The defaults.
    public init(
        server: String? = nil, storageRoot: String? = nil, pipeline: String = JobRequest.defaultPipeline,
        format: OutputFormat.Kind = .png, quality: Int = 95
    ) {
        self.server = server
        self.storageRoot = storageRoot
        self.pipeline = pipeline
        self.format = format
        self.quality = quality
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case server, storageRoot, pipeline, format, quality, security
    }

    /// Decodes the section; omitted keys take their defaults, unknown keys are refused.
    public init(from decoder: any Decoder) throws {
        try ConfigurationKeys.refuseUnknown(in: decoder, known: CodingKeys.allCases.map(\.rawValue), section: "client")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = Self()
        self.server = try container.decodeIfPresent(String.self, forKey: .server)
        self.storageRoot = try container.decodeIfPresent(String.self, forKey: .storageRoot)
        self.pipeline = try container.decodeIfPresent(String.self, forKey: .pipeline) ?? defaults.pipeline
        self.format = try container.decodeIfPresent(OutputFormat.Kind.self, forKey: .format) ?? defaults.format
        self.quality = try container.decodeIfPresent(Int.self, forKey: .quality) ?? defaults.quality
        self.security = try container.decodeIfPresent(SecuritySettings.self, forKey: .security) ?? SecuritySettings()
    }

    /// The server's address.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`
    ///   when it is missing or not `HOST:PORT`.
    public func serverAddress() throws -> PeerAddress {
        guard let server = self.server else {
            throw DistributedImagingError(
                code: .invalidConfiguration, message: "client.server: no server address; pass --server HOST:PORT (or client.server in --config; submit also runs --embedded)")
        }
        let address = try PeerAddress(parsing: server, key: "client.server (--server)")
        guard !address.isWildcard, address.port != 0 else {
            throw DistributedImagingError(
                code: .invalidConfiguration, message: "client.server (--server): cannot call '\(server)'")
        }
        return address
    }

    /// A path to send to the server: relative to the storage root, or absolute.
    ///
    /// With ``storageRoot`` set, an absolute `path` must lie under it and is made relative to it
    /// (symbolic links resolved); a relative path is taken as relative to the root. Without it,
    /// `path` goes as given and the server resolves it under its own root.
    ///
    /// - Parameters:
    ///   - path: The path as the user gave it.
    ///   - key: Its flag or argument, for the message.
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `pathOutsideStorageRoot`
    ///   naming `key` and `path`, or `invalidConfiguration` for a bad root.
    public func storagePath(_ path: String, key: String) throws -> String {
        guard !path.isEmpty else {
            throw DistributedImagingError(code: .invalidArgument, message: "\(key): the path is empty")
        }
        guard let root = self.storageRoot, path.hasPrefix("/") else { return path }
        let storage = try openStorage(root, key: "client.storageRoot (--storage-root)")
        do {
            return try storage.relativePath(path)
        } catch let error as DistributedImagingError {
            throw DistributedImagingError(code: error.code, message: "\(key): \(error.message)")
        }
    }

    /// The output format these settings describe.
    ///
    /// - Throws: when `quality` is out of range, naming `client.quality`.
    public func outputFormat() throws -> OutputFormat {
        let format = self.format == .png ? OutputFormat.png : OutputFormat.jpeg(quality: self.quality)
        guard (1...100).contains(self.quality) else {
            throw DistributedImagingError(
                code: .invalidConfiguration, message: "client.quality (--quality): must be 1...100, not \(self.quality)")
        }
        return format
    }

    /// A job over `input` with these settings: paths through ``storagePath(_:key:)`` (keys
    /// `INPUT_DIR`, `--output`), the pipeline and ``outputFormat()``.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` as those do.
    public func jobRequest(input: String, output: String?, recursive: Bool = false, force: Bool = false) throws -> JobRequest {
        JobRequest(
            inputDirectory: try self.storagePath(input, key: "INPUT_DIR"),
            outputDirectory: try output.map { try self.storagePath($0, key: "--output") },
            pipeline: self.pipeline, outputFormat: try self.outputFormat(), recursive: recursive, force: force)
    }
}
