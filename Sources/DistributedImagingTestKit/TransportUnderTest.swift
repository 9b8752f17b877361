public import DistributedImaging

/// What a transport gives the conformance kit: connections to nodes through it, a way to make a
/// node unreachable, and optionally a client of a server through it.
///
/// ```swift
/// struct InProcessUnderTest: TransportUnderTest {
///     func withNodes<Result: Sendable>(
///         _ executors: [any TaskExecutor], _ body: (TransportConformance.ConnectedNodes) async throws -> Result
///     ) async throws -> Result {
///         let transport = InProcessTransport()
///         for executor in executors { transport.register(executor) }
///         let connections = executors.map { transport.connection(to: $0.node) }
///         return try await body(.init(connections, cutOff: { transport.unregister($0) }))
///     }
/// }
/// ```
public protocol TransportUnderTest: Sendable {
    /// Serves each of `executors` as a node over the transport and runs `body` with one
    /// connection to each, in the same order.
    ///
    /// The kit's executors answer at once unless a check says otherwise; stop whatever was
    /// started before returning, also when `body` throws.
    func withNodes<Result: Sendable>(
        _ executors: [any TaskExecutor], _ body: (TransportConformance.ConnectedNodes) async throws -> Result
    ) async throws -> Result

    /// Serves `server` over the transport and runs `body` with a client of it.
    ///
    /// Optional: the job checks (``TransportConformance/Check/jobChecks``) and the status checks
    /// (``TransportConformance/Check/statusChecks``) need it. The default refuses, and those
    /// checks then fail saying so. A transport whose client holds the server in the same process
    /// passes `server` itself.
    func withSubmitter<Result: Sendable>(
        serving server: any JobSubmitter, _ body: (any JobSubmitter) async throws -> Result
    ) async throws -> Result
}

extension TransportUnderTest {
    /// Refuses: this transport carries no jobs.
    public func withSubmitter<Result: Sendable>(
        serving server: any JobSubmitter, _ body: (any JobSubmitter) async throws -> Result
    ) async throws -> Result {
        throw TransportConformance.Unsupported(
            "\(type(of: self)) does not implement withSubmitter(serving:_:): leave the job and status checks out")
    }
}

extension TransportConformance {
    /// Connections to the nodes a ``TransportUnderTest`` serves, and a way to make one
    /// unreachable.
    public struct ConnectedNodes: Sendable {
        /// One connection per executor, in the order they were given.
        public let connections: [any NodeConnection]
        private let cut: @Sendable (NodeID) async throws -> Void

        /// Connections to the served nodes.
        ///
        /// - Parameters:
        ///   - connections: One per executor, in the order they were given.
        ///   - cutOff: Makes a node unreachable as the transport would see it (the node process
        ///     gone, its listener closed, its name unregistered): afterwards every call through
        ///     its connection must throw ``DistributedImagingError`` with code `unavailable`.
        ///     Return once that holds.
        public init(_ connections: [any NodeConnection], cutOff: @escaping @Sendable (NodeID) async throws -> Void) {
            self.connections = connections
            self.cut = cutOff
        }

        /// Makes `node` unreachable.
        public func cutOff(_ node: NodeID) async throws {
            try await self.cut(node)
        }
    }

    /// A part of the kit the transport under test does not provide.
    public struct Unsupported: Error, Sendable, CustomStringConvertible {
        /// What is missing.
        public var description: String

        /// Says what is missing.
        public init(_ description: String) {
            self.description = description
        }
    }
}
