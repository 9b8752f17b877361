public import DistributedImaging
import GRPCCore
import GRPCNIOTransportHTTP2
import Synchronization
import SwiftProtobuf

/// The server's handle on a remote node: a ``DistributedImaging/NodeConnection`` that calls
/// `dip.v1.NodeService/RunTask` over HTTP/2.
///
/// The connection owns a `GRPCClient`; ``runConnections()`` must be running (in a task the owner
/// controls, e.g. ``DistributedImaging/NodeMembership/run()``) for calls to proceed, and ``close()`` ends it once calls
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
    private let state = Mutex(State())

    private struct State {
        var slots: Int?
        var advertised: NodeState?
        /// Why the node was dropped; set once, never cleared (a node that comes back gets a
        /// new connection).
        var dropped: String?
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }
    private let limiter: CallLimiter

    /// Creates a connection; nothing is dialled until the first call.
    ///
    /// - Parameters:
    ///   - node: The node's name (a receipt from another name is accepted but logged by the caller).
    ///   - address: Where the node's `NodeService` listens.
    ///   - timeout: The longest one `RunTask` call may take as a whole, queue wait included;
    ///     `nil` (the server's choice) waits as long as the node answers health checks. The task
    ///     deadline that excludes queue wait travels in the task (``DistributedImaging/TaskRequest/runTimeout``).
    ///   - security: The shared token and TLS settings (default none).
    ///   - slots: The node's slots, when known (see ``slots``).
    ///   - maxConcurrentCalls: The most `RunTask` calls in flight at once on this connection; keep
    ///     it below the node's HTTP/2 concurrent-stream limit (default
    ///     ``defaultMaxConcurrentCalls``).
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration` when
    ///   the address cannot be resolved.
    public init(
        node: NodeID, address: PeerAddress, timeout: Duration? = nil, security: PeerSecurity = .none, slots: Int? = nil,
        maxConcurrentCalls: Int = GRPCNodeConnection.defaultMaxConcurrentCalls
    ) throws {
        self.node = node
        self.state.withLock { $0.slots = slots.flatMap { $0 > 0 ? $0 : nil } }
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

    /// The node's slots as it last advertised them (registration or health check).
    public var slots: Int? { self.state.withLock { $0.slots } }

    /// Records the node's slots from an advertisement or status (ignored unless positive).
    public func updateSlots(_ slots: Int) {
        guard slots > 0 else { return }
        self.state.withLock { $0.slots = slots }
    }

    /// What the node advertised of itself in its registration, latest heartbeat or latest answer
    /// to a health check (policy, load and its mode, slots, busy slots, queue), range-checked;
    /// `nil` until it told. Busy slots and queue are as of that moment.
    public var advertisedState: NodeState? { self.state.withLock { $0.advertised } }

    /// Records what the node advertised (see ``advertisedState``).
    public func updateAdvertisedState(_ state: NodeState?) {
        self.state.withLock { $0.advertised = state }
    }

    /// Fails every call in flight and every later call with `unavailable` and `reason`: the
    /// server gave up on the node (it missed its health checks), so the tasks it holds are
    /// placed again at once instead of waiting for a node that may never answer.
    public func drop(reason: String) {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard state.dropped == nil else { return [] }
            state.dropped = reason
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Why the node was dropped, if it was.
    public var droppedReason: String? { self.state.withLock { $0.dropped } }

    /// Asks the node to run `task`.
    ///
    /// The task's ``DistributedImaging/TaskRequest/runTimeout`` travels as
    /// `dip-task-timeout-ms` metadata.
    ///
    /// Waits first while ``defaultMaxConcurrentCalls`` (or the configured number of) calls are in
    /// flight; a cancelled waiter throws `CancellationError`.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `unavailable` when the
    ///   node cannot be reached or was dropped, `timedOut` past the timeout,
    ///   `invalidConfiguration` when the node speaks another protocol revision.
    public func run(_ task: TaskRequest) async throws -> TaskReceipt {
        if let reason = self.droppedReason { throw self.droppedError(reason) }
        let service = Dip_V1_NodeService.Client(wrapping: self.client)
        let request = Dip_V1_RunTaskRequest.with {
            $0.protocolVersion = WireProtocol.wireValue
            $0.task = Dip_V1_TaskRequest(task)
        }
        var deadline = Metadata()
        TaskDeadlineMetadata.write(task.runTimeout, to: &deadline)
        let metadata = deadline
        let options = self.options
        return try await withThrowingTaskGroup(of: TaskReceipt?.self) { group in
            group.addTask {
                do {
                    let response = try await self.limiter.withPermit {
                        try await service.runTask(request, metadata: metadata, options: options)
                    }
                    return try TaskReceipt(response.receipt)
                } catch let error as CancellationError {
                    throw error
                } catch {
                    throw DistributedImagingError.fromRPC(error, peer: self.peer)
                }
            }
            group.addTask {
                await self.waitUntilDropped()
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let receipt = first else {
                guard let reason = self.droppedReason else { throw CancellationError() }
                throw self.droppedError(reason)
            }
            return receipt
        }
    }

    private func droppedError(_ reason: String) -> DistributedImagingError {
        DistributedImagingError(code: .unavailable, message: "\(self.peer) was dropped: \(reason)")
    }

    /// Returns once the node is dropped, or when the calling task is cancelled.
    private func waitUntilDropped() async {
        let id = self.state.withLock { state -> UInt64 in
            state.nextWaiter &+= 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = self.state.withLock { state -> Bool in
                    if state.dropped != nil || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            self.state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
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
