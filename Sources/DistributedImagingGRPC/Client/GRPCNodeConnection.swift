import DistributedImaging
import GRPCCore
import GRPCNIOTransportHTTP2

/// The server's handle on a remote node: a ``DistributedImaging/NodeConnection`` that calls
/// `dip.v1.NodeService/RunTask` over HTTP/2.
///
/// The connection owns a `GRPCClient`; ``runConnections()`` must be running (in a task the owner
/// controls, e.g. ``NodeRegistry/run()``) for calls to proceed, and ``close()`` ends it once calls
/// in flight finish. Calls made before it runs are queued.
///
/// ```swift
/// let node = try GRPCNodeConnection(node: NodeID("node-1"), address: PeerAddress(parsing: "127.0.0.1:7101"))
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { try await node.runConnections() }
///     let receipt = try await node.run(task)
///     node.close()
/// }
/// ```
public final class GRPCNodeConnection: NodeConnection {
    /// The node's name.
    public let node: NodeID
    /// Where the node listens.
    public let address: PeerAddress

    /// The most `RunTask` calls one connection carries at once (default); more wait their turn
    /// in the server. It stays below 100, the concurrent-stream limit SwiftNIO HTTP/2 assumes for
    /// a peer that does not announce one (a `dip-node` announces none), leaving room for health
    /// checks: calls beyond the peer's limit would wait inside SwiftNIO HTTP/2, and cancelling
    /// them there (a job cancelled while busy) crashes a debug build (`Docs/Reliability.md`).
    public static let defaultMaxConcurrentCalls = 64

    private let client: GRPCClient<HTTP2ClientTransport.Posix>
    private let options: CallOptions
    private let peer: String
    private let limiter: CallLimiter

    /// Creates a connection; nothing is dialled until the first call.
    ///
    /// - Parameters:
    ///   - node: The node's name (a receipt from another name is accepted but logged by the caller).
    ///   - address: Where the node's `NodeService` listens.
    ///   - timeout: The longest one `RunTask` call may take (delay and processing included);
    ///     `nil` waits as long as the node works.
    ///   - security: The shared token and TLS settings (default none).
    ///   - maxConcurrentCalls: The most `RunTask` calls in flight at once on this connection; keep
    ///     it below the node's HTTP/2 concurrent-stream limit (default
    ///     ``defaultMaxConcurrentCalls``).
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration` when
    ///   the address cannot be resolved.
    public init(
        node: NodeID, address: PeerAddress, timeout: Duration? = nil, security: PeerSecurity = .none,
        maxConcurrentCalls: Int = GRPCNodeConnection.defaultMaxConcurrentCalls
    ) throws {
        self.node = node
        self.limiter = CallLimiter(limit: maxConcurrentCalls)
        self.address = address
        self.peer = "dip-node '\(node)' at \(address)"
        self.client = try security.makeClient(to: address, peer: self.peer)
        var options = CallOptions.defaults
        options.waitForReady = false
        options.timeout = timeout
        self.options = options
    }

    /// Runs the connection until ``close()`` and the calls in flight finish.
    public func runConnections() async throws {
        try await self.client.runConnections()
    }

    /// Stops accepting calls; ``runConnections()`` returns once calls in flight finish.
    public func close() {
        self.client.beginGracefulShutdown()
    }

    /// Asks the node to run `task`.
    ///
    /// Waits first while ``defaultMaxConcurrentCalls`` (or the configured number of) calls are in
    /// flight; a cancelled waiter throws `CancellationError`.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `unavailable` when the
    ///   node cannot be reached, `timedOut` past the timeout, `invalidConfiguration` when the node
    ///   speaks another protocol revision.
    public func run(_ task: TaskRequest) async throws -> TaskReceipt {
        let service = Dip_V1_NodeService.Client(wrapping: self.client)
        let request = Dip_V1_RunTaskRequest.with {
            $0.protocolVersion = WireProtocol.wireValue
            $0.task = Dip_V1_TaskRequest(task)
        }
        let options = self.options
        do {
            let response = try await self.limiter.withPermit { try await service.runTask(request, options: options) }
            return try TaskReceipt(response.receipt)
        } catch let error as CancellationError {
            throw error
        } catch {
            throw DistributedImagingError.fromRPC(error, peer: self.peer)
        }
    }

    /// Asks the node for its status (answered whatever protocol revision it speaks).
    public func status() async throws -> PeerStatus {
        try await HealthClient.status(of: self.client, options: self.options, peer: self.peer)
    }

    /// Asks the node for its status, waiting at most `timeout` (a health check).
    public func status(timeout: Duration) async throws -> PeerStatus {
        var options = self.options
        options.timeout = timeout
        return try await HealthClient.status(of: self.client, options: options, peer: self.peer)
    }
}
