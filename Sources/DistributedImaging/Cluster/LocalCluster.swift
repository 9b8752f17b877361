public import Logging
public import NIOPosix
import Foundation

/// A server and its nodes in one process, connected by ``InProcessTransport``: the embedded
/// cluster behind `dip-client submit --embedded`, the examples and the tests.
///
/// ```swift
/// let cluster = try LocalCluster(
///     storageRoot: "/data",
///     nodes: [.init(name: "a", policy: .optional, load: 0.5), .init(name: "b", load: 0.2)],
///     seed: 42)
/// let receipt = try await cluster.submit(JobRequest(inputDirectory: "photos", pipeline: "invert"))
/// ```
///
/// With a `seed`, every decision — job ids, placements, rejections, delays — is reproducible:
/// the server and each node get generators derived from it and their names.
public final class LocalCluster: JobSubmitter {
    /// The server.
    public let server: ImagingServer
    /// The nodes, in the order configured.
    public let nodes: [ImagingNode]
    /// The transport connecting them.
    public let transport: InProcessTransport
    /// The shared storage.
    public var storage: SharedStorage { self.server.storage }

    /// Creates a server and `nodes` on the storage at `storageRoot`.
    ///
    /// - Parameters:
    ///   - storageRoot: The directory every path is relative to.
    ///   - nodes: One configuration per node; names must be unique.
    ///   - server: The server's settings.
    ///   - seed: When set, replaces the server's and nodes' seeds with ones derived from it.
    ///   - placement: Which node to try next (default: uniformly at random).
    ///   - registry: The filters pipelines may name.
    ///   - codec: Decoding limits and options for the nodes.
    ///   - store: Where the server keeps its jobs (default: in memory).
    ///   - threadPool: Where the nodes decode, filter and encode, and the server lists inputs and
    ///     writes `receipt.json` (default: NIO's shared pool).
    ///   - logger: Where the server and nodes log (default: nowhere).
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` naming the bad key,
    ///   or `notFound` when the storage root does not exist.
    public init(
        storageRoot: String,
        nodes: [NodeConfiguration],
        server: ServerConfiguration = .defaults,
        seed: UInt64? = nil,
        placement: any Placement = RandomPlacement(),
        registry: FilterRegistry = .standard,
        codec: ImageCodec = .default,
        store: any JobStore = InMemoryJobStore(),
        threadPool: NIOThreadPool = .singleton,
        logger: Logger = Logger(label: "DistributedImaging", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws {
        guard !nodes.isEmpty else {
            throw DistributedImagingError.invalidConfiguration("a cluster needs at least one node")
        }
        var seen: Set<String> = []
        for node in nodes where !seen.insert(node.name).inserted {
            throw DistributedImagingError.invalidConfiguration("two nodes are named '\(node.name)'")
        }
        let storage = try SharedStorage(root: storageRoot)
        let transport = InProcessTransport()
        self.nodes = try nodes.map { configuration in
            var configuration = configuration
            if let seed { configuration.seed = SeededRandomNumberGenerator.derive(seed: seed, ["node", configuration.name]) }
            let node = try ImagingNode(
                configuration: configuration, storage: storage, registry: registry, codec: codec, threadPool: threadPool,
                logger: logger)
            transport.register(node)
            return node
        }
        var server = server
        if let seed { server.seed = SeededRandomNumberGenerator.derive(seed: seed, ["server"]) }
        self.server = try ImagingServer(
            configuration: server, storage: storage, nodes: try StaticNodeDirectory(transport.connections()),
            store: store, placement: placement, registry: registry, threadPool: threadPool, logger: logger)
        self.transport = transport
    }

    /// Runs `request` on the cluster; see ``ImagingServer/submit(_:onEvent:)``.
    public func submit(_ request: JobRequest, onEvent: @escaping @Sendable (JobEvent) async -> Void) async throws -> JobReceipt {
        try await self.server.submit(request, onEvent: onEvent)
    }

    /// Starts `request`; see ``ImagingServer/start(_:)``.
    public func start(_ request: JobRequest) async throws -> JobID { try await self.server.start(request) }

    /// Follows a job; see ``ImagingServer/watch(_:)``.
    public func watch(_ id: JobID) async throws -> AsyncThrowingStream<JobEvent, any Error> {
        try await self.server.watch(id)
    }

    /// The server's jobs; see ``ImagingServer/jobs()``.
    public func jobs() async throws -> [JobRecord] { try await self.server.jobs() }

    /// Cancels a job; see ``ImagingServer/cancel(_:)``.
    @discardableResult
    public func cancel(_ id: JobID) async throws -> JobRecord { try await self.server.cancel(id) }

    /// Node settings for a quick cluster: `count` nodes named `node-1`… with one policy.
    ///
    /// - Parameters:
    ///   - count: How many nodes (at least 1).
    ///   - policy: Every node's policy.
    ///   - loads: One load for every node, or exactly one per node.
    ///   - delay: The injected delay in seconds.
    ///   - maxConcurrentTasks: Every node's slots.
    ///   - durableWrites: Whether every node flushes its outputs to disk.
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` when the loads do not
    ///   match the count or a value is out of range.
    public static func nodeConfigurations(
        count: Int,
        policy: SchedulingPolicy,
        loads: [Double],
        delay: Double = NodeConfiguration.defaultDelay,
        maxConcurrentTasks: Int = NodeConfiguration.defaultMaxConcurrentTasks,
        durableWrites: Bool = false
    ) throws -> [NodeConfiguration] {
        guard count >= 1 else {
            throw DistributedImagingError.invalidConfiguration("nodes must be at least 1, not \(count)")
        }
        guard loads.count == 1 || loads.count == count else {
            throw DistributedImagingError.invalidConfiguration(
                "load: give one value for every node or one per node (\(count)), not \(loads.count) values")
        }
        let configurations = (0..<count).map { index in
            NodeConfiguration(
                name: "node-\(index + 1)", policy: policy, load: loads.count == 1 ? loads[0] : loads[index], delay: delay,
                maxConcurrentTasks: maxConcurrentTasks, durableWrites: durableWrites)
        }
        try configurations.forEach { try $0.validate() }
        return configurations
    }

    /// The loads of a demonstration cluster when none are given: 0.8, 0.6, 0.5, 0.2, repeated
    /// (`dip-client submit --embedded`).
    public static let demoLoads = [0.8, 0.6, 0.5, 0.2]

    /// Loads written as comma-separated numbers (`0.8,0.2`, or one value); without text, the
    /// ``demoLoads`` repeated to `count` nodes.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` naming a part that is
    ///   not a number.
    public static func loads(parsing text: String?, count: Int) throws -> [Double] {
        guard let text else { return (0..<max(count, 1)).map { Self.demoLoads[$0 % Self.demoLoads.count] } }
        return try text.split(separator: ",").map { part in
            guard let value = Double(part.trimmingCharacters(in: .whitespaces)) else {
                throw DistributedImagingError(code: .invalidConfiguration, message: "load: '\(part)' is not a number")
            }
            return value
        }
    }
}
