import DistributedImaging

/// A ``DistributedImaging/JobSubmitter`` over a changing set of nodes: each job is run by a
/// submitter made for the nodes live in a ``NodeRegistry`` when the job starts (static nodes and
/// registrations not yet expired). Nodes that register during a job serve the next one.
///
/// ```swift
/// let submitter = RegistryJobSubmitter(registry: registry) { nodes in
///     try ImagingServer(configuration: configuration, storage: storage, nodes: nodes, logger: logger)
/// }
/// ```
public struct RegistryJobSubmitter: JobSubmitter {
    private let registry: NodeRegistry
    private let makeSubmitter: @Sendable ([any NodeConnection]) throws -> any JobSubmitter

    /// Creates a submitter.
    ///
    /// - Parameters:
    ///   - registry: Where the nodes come from.
    ///   - makeSubmitter: Makes the submitter that runs one job on the given nodes.
    public init(
        registry: NodeRegistry, makeSubmitter: @escaping @Sendable ([any NodeConnection]) throws -> any JobSubmitter
    ) {
        self.registry = registry
        self.makeSubmitter = makeSubmitter
    }

    /// Runs `request` on the nodes live now.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `unavailable` when no node
    ///   is registered or configured, and whatever the made submitter throws.
    public func submit(_ request: JobRequest, onEvent: @escaping @Sendable (JobEvent) async -> Void) async throws -> JobReceipt {
        let nodes = self.registry.connections()
        guard !nodes.isEmpty else {
            throw DistributedImagingError(
                code: .unavailable,
                message: "the server has no nodes: none is configured (server.nodes) and none has registered")
        }
        return try await self.makeSubmitter(nodes).submit(request, onEvent: onEvent)
    }
}
