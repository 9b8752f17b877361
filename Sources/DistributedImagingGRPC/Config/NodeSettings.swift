public import DistributedImaging
public import Logging

/// The `node` section of a ``DeploymentConfiguration``: what `dip-node` listens on, what it tells
/// the server, where the shared storage is mounted, and how it admits tasks.
public struct NodeSettings: Sendable, Hashable, Codable, NodeLoadSettings {
    /// The node's name, unique in its cluster (flag `--name`; required).
    public var name: String?
    /// Where to listen (flag `--listen`; default `0.0.0.0:7100`).
    public var listen: String
    /// Where the Prometheus endpoint `GET /metrics` listens (key `metricsListen`, flag
    /// `--metrics-listen`; default: no endpoint).
    public var metricsListen: String?
    /// The address the server should call (flag `--advertise`); default: `listen`, which must
    /// then not be a wildcard.
    public var advertise: String?
    /// The server to register with (flag `--server`); unset: no registration (the server lists
    /// the node statically).
    public var server: String?
    /// The node's mount of the shared storage (flag `--storage-root`; required).
    public var storageRoot: String?
    /// `mandatory` or `optional` (flag `--policy`; default `mandatory`).
    public var policy: SchedulingPolicy
    /// Simulated load 0...1 (flag `--load`; default 0). Not used while ``autoLoad`` is set.
    public var load: Double
    /// Whether the node measures its load (`"load": "auto"`, `--load auto`; default `false`):
    /// see ``DistributedImaging/NodeLoad/auto``.
    public var autoLoad = false
    /// Injected delay in seconds (flag `--delay`; default 3, the seed's).
    public var delay: Double
    /// Accepted tasks held at once (flag `--max-concurrent`; default 8).
    public var maxConcurrentTasks: Int
    /// Seeds the node's decisions; unset draws one from the system.
    public var seed: UInt64?
    /// Largest image, in pixels, a task may decode (flag `--max-pixels`; default 100 000 000);
    /// checked from the header, before the pixels are allocated.
    public var maxPixels = ImageCodec.Limits.defaults.maxPixels
    /// Largest input file, in bytes (flag `--max-file-bytes`; default 512 MiB); checked before
    /// the file is read.
    public var maxFileBytes = ImageCodec.Limits.defaults.maxFileBytes

    /// Calls one client connection may have open at once, announced to clients as HTTP/2
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` (flag `--max-concurrent-streams`; default 256,
    /// 1...100000); a client past it waits for one of its calls to end.
    public var maxConcurrentStreams = GRPCEndpoint.defaultMaxConcurrentStreams
    /// Flush each output to disk before renaming it into place, and its directory after (key
    /// `durableWrites`, flag `--durable-writes`; default `false`).
    public var durableWrites = false
    /// Where the task port listens (key `taskListen`, flag `--task-listen`): `HOST:PORT`, or
    /// `off`; default: the host of ``listen`` and a free port. The port carries the task stream
    /// without HTTP/2 (``TaskPortListener``); it has no TLS and no token, so a node with either
    /// opens none.
    public var taskListen: String?
    /// Whether the node shares the machine's cores with the other `dip-node` processes of its
    /// user there (key `shareCores`, flags `--share-cores` / `--no-share-cores`; default `true`):
    /// at most as many images are decoded, filtered and encoded at once between them as the
    /// machine has cores (``DistributedImaging/MachineComputeGate``). A node alone on its
    /// machine never waits for it.
    public var shareCores = true

    /// The shared token and TLS files (key `security`; default: no token, plaintext).
    public var security = SecuritySettings()

    /// The default listening address.
    public static let defaultListen = "0.0.0.0:7100"

    /// The defaults.
    public init(
        name: String? = nil, listen: String = NodeSettings.defaultListen, advertise: String? = nil,
        server: String? = nil, storageRoot: String? = nil, policy: SchedulingPolicy = .mandatory,
        load: Double = 0, delay: Double = NodeConfiguration.defaultDelay,
        maxConcurrentTasks: Int = NodeConfiguration.defaultMaxConcurrentTasks, seed: UInt64? = nil
    ) {
        self.name = name
        self.listen = listen
        self.advertise = advertise
        self.server = server
        self.storageRoot = storageRoot
        self.policy = policy
        self.load = load
        self.delay = delay
        self.maxConcurrentTasks = maxConcurrentTasks
        self.seed = seed
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case name, listen, advertise, server, storageRoot, policy, load, delay, maxConcurrentTasks, seed, security
        case maxPixels, maxFileBytes, metricsListen, maxConcurrentStreams, durableWrites, taskListen, shareCores
    }

    /// Decodes the section; omitted keys take their defaults, unknown keys are refused.
    public init(from decoder: any Decoder) throws {
        try ConfigurationKeys.refuseUnknown(in: decoder, known: CodingKeys.allCases.map(\.rawValue), section: "node")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = Self()
        self.name = try container.decodeIfPresent(String.self, forKey: .name)
        self.listen = try container.decodeIfPresent(String.self, forKey: .listen) ?? defaults.listen
        self.metricsListen = try container.decodeIfPresent(String.self, forKey: .metricsListen)
        self.taskListen = try container.decodeIfPresent(String.self, forKey: .taskListen)
        self.advertise = try container.decodeIfPresent(String.self, forKey: .advertise)
        self.server = try container.decodeIfPresent(String.self, forKey: .server)
        self.storageRoot = try container.decodeIfPresent(String.self, forKey: .storageRoot)
        self.policy = defaults.policy
        self.load = defaults.load
        self.delay = try container.decodeIfPresent(Double.self, forKey: .delay) ?? defaults.delay
        self.maxConcurrentTasks =
            try container.decodeIfPresent(Int.self, forKey: .maxConcurrentTasks) ?? defaults.maxConcurrentTasks
        self.seed = try container.decodeIfPresent(UInt64.self, forKey: .seed)
        self.security = try container.decodeIfPresent(SecuritySettings.self, forKey: .security) ?? SecuritySettings()
        self.maxConcurrentStreams =
            try container.decodeIfPresent(Int.self, forKey: .maxConcurrentStreams) ?? GRPCEndpoint.defaultMaxConcurrentStreams
        self.maxPixels = try container.decodeIfPresent(Int.self, forKey: .maxPixels) ?? defaults.maxPixels
        self.maxFileBytes = try container.decodeIfPresent(Int.self, forKey: .maxFileBytes) ?? defaults.maxFileBytes
        self.durableWrites = try container.decodeIfPresent(Bool.self, forKey: .durableWrites) ?? defaults.durableWrites
        self.shareCores = try container.decodeIfPresent(Bool.self, forKey: .shareCores) ?? defaults.shareCores
        if let policy = try container.decodeIfPresent(String.self, forKey: .policy) {
            try self.setPolicy(policy, key: "node.policy")
        }
        if let number = try? container.decodeIfPresent(Double.self, forKey: .load) {
            self.load = number
        } else if let text = try? container.decodeIfPresent(String.self, forKey: .load) {
            try self.setLoad(text, key: "key 'node.load'")
        } else if container.contains(.load), try !container.decodeNil(forKey: .load) {
            throw DistributedImagingError(
                code: .invalidConfiguration, message: "key 'node.load': expected a number in 0…1 or \"auto\"")
        }
    }

    /// Sets the load from text: a number in 0…1, or `auto`.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`
    ///   naming `key` and the value.
    public mutating func setLoad(_ text: String, key: String) throws {
        self.nodeLoad = try NodeLoad(parsing: text, key: key)
    }

    /// Sets ``policy`` from its name.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`
    ///   naming `key` and the value.
    public mutating func setPolicy(_ name: String, key: String) throws {
        guard let policy = SchedulingPolicy(rawValue: name.lowercased()) else {
            throw DistributedImagingError(
                code: .invalidConfiguration, message: "\(key): '\(name)' is not mandatory or optional")
        }
        self.policy = policy
    }

    /// The admission settings for ``DistributedImaging/ImagingNode``, checked.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`
    ///   naming the key and the value.
    public func nodeConfiguration() throws -> NodeConfiguration {
        guard let name = self.name, !name.isEmpty else {
            throw DistributedImagingError(code: .invalidConfiguration, message: "node.name (--name): required, not set")
        }
        try self.nodeLoad.validate(key: "node.load (--load)")
        var configuration = NodeConfiguration(
            name: name, policy: self.policy, load: self.load, delay: self.delay,
            maxConcurrentTasks: self.maxConcurrentTasks, seed: self.seed, durableWrites: self.durableWrites)
        configuration.autoLoad = self.autoLoad
        try configuration.validate()
        return configuration
    }

    /// The shared storage at ``storageRoot``.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` naming `node.storageRoot` when it is
    ///   unset or not a directory.
    public func storage() throws -> SharedStorage {
        var storage = try openStorage(self.storageRoot, key: "node.storageRoot (--storage-root)")
        storage.maxFileBytes = self.maxFileBytes
        storage.durableWrites = self.durableWrites
        return storage
    }

    /// The machine's compute gate when ``shareCores`` is set, else `nil`. A gate that cannot be
    /// opened is logged as a warning to `logger`, and the node runs without one.
    public func computeGate(logger: Logger) -> MachineComputeGate? {
        guard self.shareCores else { return nil }
        do {
            return try MachineComputeGate.machine()
        } catch {
            logger.warning(
                "not sharing the machine's cores with other nodes", metadata: ["error": "\(DistributedImagingError.message(of: error))"])
            return nil
        }
    }

    /// The codec with ``maxPixels`` and ``maxFileBytes``.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`
    ///   when a limit is not positive.
    public func codec() throws -> ImageCodec {
        guard self.maxPixels > 0 else {
            throw DistributedImagingError(
                code: .invalidConfiguration, message: "node.maxPixels (--max-pixels): must be positive, not \(self.maxPixels)")
        }
        guard self.maxFileBytes > 0 else {
            throw DistributedImagingError(
                code: .invalidConfiguration,
                message: "node.maxFileBytes (--max-file-bytes): must be positive, not \(self.maxFileBytes)")
        }
        return ImageCodec(limits: .init(maxPixels: self.maxPixels, maxFileBytes: self.maxFileBytes))
    }

    /// The address to bind: ``listen`` with a host name resolved to its IP address (see
    /// ``PeerAddress/resolvedForListening(key:)``).
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`
    ///   naming the key when it is not `HOST:PORT` or its host name does not resolve.
    public func listenAddress() throws -> PeerAddress {
        try PeerAddress(parsing: self.listen, key: "node.listen (--listen)").resolvedForListening(key: "node.listen (--listen)")
    }

    /// Where the task port listens: ``taskListen``, or the host of ``listen`` with port 0 (any
    /// free port); `nil` for `off`.
    public func taskListenAddress() throws -> PeerAddress? {
        let key = "node.taskListen (--task-listen)"
        guard let text = self.taskListen else {
            var address = try self.listenAddress()
            address.port = 0
            return address
        }
        if text == "off" { return nil }
        return try PeerAddress(parsing: text, key: key).resolvedForListening(key: key)
    }

    /// The address the server calls: `advertise`, or `listen` when that is callable.
    ///
    /// - Parameter bound: The address actually bound (its port replaces a 0 port).
    public func advertisedAddress(bound: PeerAddress? = nil) throws -> PeerAddress {
        if let advertise = self.advertise {
            var address = try PeerAddress(parsing: advertise, key: "node.advertise (--advertise)")
            if address.port == 0, let bound { address.port = bound.port }
            guard !address.isWildcard, address.port != 0 else {
                throw DistributedImagingError(
                    code: .invalidConfiguration, message: "node.advertise (--advertise): cannot be called: '\(advertise)'")
            }
            return address
        }
        // The name as given (not resolved): the server calls it, and may resolve it differently.
        var address = try PeerAddress(parsing: self.listen, key: "node.listen (--listen)")
        if let bound { address.port = bound.port }
        guard !address.isWildcard else {
            throw DistributedImagingError(
                code: .invalidConfiguration,
                message: "node.listen (--listen) is the wildcard '\(self.listen)': pass --advertise HOST:PORT, the "
                    + "address the server should call")
        }
        return address
    }

    /// The server to register with, if any.
    public func serverAddress() throws -> PeerAddress? {
        guard let server = self.server else { return nil }
        let address = try PeerAddress(parsing: server, key: "node.server (--server)")
        guard !address.isWildcard, address.port != 0 else {
            throw DistributedImagingError(code: .invalidConfiguration, message: "node.server (--server): cannot call '\(server)'")
        }
        return address
    }

    /// Checks the network keys (the admission keys are checked by the node role).
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`
    ///   naming the key and the value.
    public func validate() throws {
        guard let name = self.name, !name.isEmpty else {
            throw DistributedImagingError(code: .invalidConfiguration, message: "node.name (--name): required, not set")
        }
        guard self.storageRoot?.isEmpty == false else {
            throw DistributedImagingError(
                code: .invalidConfiguration, message: "node.storageRoot (--storage-root): required, not set")
        }
        guard GRPCEndpoint.maxConcurrentStreamsRange.contains(self.maxConcurrentStreams) else {
            throw DistributedImagingError(
                code: .invalidConfiguration,
                message: "node.maxConcurrentStreams (--max-concurrent-streams): must be 1...100000, not \(self.maxConcurrentStreams)")
        }
        _ = try self.listenAddress()
        _ = try self.taskListenAddress()
        if self.server != nil {
            _ = try self.advertisedAddress(bound: PeerAddress(host: "0.0.0.0", port: 1))
        }
        _ = try self.serverAddress()
    }
}
