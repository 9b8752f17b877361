public import DistributedImaging
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import NIOPosix
import Synchronization
import SwiftProtobuf

/// The server's handle on a remote node: a ``DistributedImaging/NodeConnection`` that runs tasks
/// over HTTP/2.
///
/// Tasks travel on one long-lived `dip.v1.NodeService/RunTaskBatches` stream, opened at the first
/// task and again after it ends, so a task costs part of a message each way instead of an HTTP/2
/// stream and its set-up: what is queued while the stream's writer is busy goes in one message,
/// and the node answers the same way. Given the node's task port (``taskAddress``), the same
/// stream runs over a plain TCP connection to it instead, without HTTP/2 and gRPC; a task port
/// that cannot be reached, or answers with something else, gets `RunTaskBatches` from then on.
/// A node that does not serve `RunTaskBatches` (an older release) gets the `RunTasks` stream, one
/// message per task; one that serves neither, and a connection with a whole-call `timeout`, get
/// one unary `RunTask` call per task.
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
    /// The node's task port, when tasks go there (see the type's discussion).
    public let taskAddress: PeerAddress?

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
        /// The task stream's state.
        var stream = StreamState()
    }

    /// The long-lived task stream: the requests waiting to be written to it, and the
    /// tasks it carries that are not answered yet. A stream is *wanted* once a task is queued
    /// for it; ``runStreams()`` opens it, and when it ends the tasks it carried fail and the next
    /// task wants a new one.
    private struct StreamState {
        /// The requests of the current (or wanted) stream; `nil` when none is open or wanted.
        var outbox: MessageOutbox<Dip_V1_RunTasksRequest>?
        /// The outbox of a stream wanted but not opened yet.
        var requests: MessageOutbox<Dip_V1_RunTasksRequest>?
        /// Counts streams, so that an ending stream fails only its own tasks.
        var generation: UInt64 = 0
        var pending: [UInt64: Pending] = [:]
        var nextID: UInt64 = 0
        /// ``runStreams()`` waiting for a stream to be wanted.
        var opener: CheckedContinuation<Void, Never>?
        /// How tasks travel: lowered a step each time the node answers a stream UNIMPLEMENTED.
        var mode = StreamMode.batches
        var closed = false
    }

    /// How tasks travel to the node, best last.
    private enum StreamMode {
        /// Unary `RunTask` calls (the node serves no stream).
        case unary
        /// The `RunTasks` stream, a message per task.
        case single
        /// The `RunTaskBatches` stream.
        case batches
        /// The `RunTaskBatches` stream's messages over the node's task port.
        case taskPort

        /// The next kind to try when the node does not serve this one.
        var fallback: StreamMode {
            switch self {
            case .taskPort: .batches
            case .batches: .single
            case .single, .unary: .unary
            }
        }
    }

    private struct Pending {
        let generation: UInt64
        let continuation: CheckedContinuation<TaskReceipt, any Error>
    }

    /// A stream that ended before answering a task: the node does not serve that kind of stream
    /// (the connection now uses the next kind).
    private struct StreamUnsupported: Error {}

    /// The task port could not be reached, or its stream ended or broke before the first answer.
    fileprivate struct TaskPortUnusable: Error {
        let cause: any Error
    }

    /// Whether tasks go over a task stream (else one `RunTask` call each).
    private let streaming: Bool
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
    ///   - maxConcurrentCalls: The most tasks in flight at once on this connection (on the
    ///     stream, or as `RunTask` calls); keep it below the node's HTTP/2 concurrent-stream
    ///     limit (default ``defaultMaxConcurrentCalls``).
    ///   - streaming: Whether tasks travel on the long-lived task stream (default) or as
    ///     one `RunTask` call each. A `timeout` implies unary calls.
    ///   - taskAddress: The node's task port (``TaskPortListener``), to carry the task stream
    ///     without HTTP/2 (default none). Used only without TLS and token in `security` (the
    ///     port has neither) and with `streaming`.
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration` when
    ///   the address cannot be resolved.
    public init(
        node: NodeID, address: PeerAddress, timeout: Duration? = nil, security: PeerSecurity = .none, slots: Int? = nil,
        maxConcurrentCalls: Int = GRPCNodeConnection.defaultMaxConcurrentCalls, streaming: Bool = true,
        taskAddress: PeerAddress? = nil
    ) throws {
        self.node = node
        self.streaming = streaming && timeout == nil
        self.taskAddress = security.allowsTaskPort && self.streaming ? taskAddress : nil
        if self.taskAddress != nil { self.state.withLock { $0.stream.mode = .taskPort } }
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
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                // Also when the client stops on its own (or this task is cancelled).
                defer { self.closeStreams() }
                try await self.client.runConnections()
            }
            await self.runStreams()
        }
    }

    /// Stops accepting calls; ``runConnections()`` returns once calls in flight finish.
    public func close() {
        self.closeStreams()
        self.client.beginGracefulShutdown()
    }

    /// Opens no more streams; the open one ends once the node answered what it carries.
    private func closeStreams() {
        let (outbox, opener) = self.state.withLock { state in
            state.stream.closed = true
            defer { state.stream.opener = nil }
            return (state.stream.outbox, state.stream.opener)
        }
        // The node answers what the stream carries, then ends it.
        outbox?.finish()
        opener?.resume()
    }

    /// Whether tasks still go to the node's task port (`false` without one, and once the
    /// connection fell back to `RunTaskBatches`).
    var usesTaskPort: Bool { self.state.withLock { $0.stream.mode == .taskPort } }

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
        let (waiters, pending, outbox) = self.state.withLock {
            state -> ([CheckedContinuation<Void, Never>], [Pending], MessageOutbox<Dip_V1_RunTasksRequest>?) in
            guard state.dropped == nil else { return ([], [], nil) }
            state.dropped = reason
            defer {
                state.waiters.removeAll()
                state.stream.pending.removeAll()
            }
            return (Array(state.waiters.values), Array(state.stream.pending.values), state.stream.outbox)
        }
        for waiter in waiters { waiter.resume() }
        let error = self.droppedError(reason)
        for task in pending { task.continuation.resume(throwing: error) }
        outbox?.finish()
    }

    /// Why the node was dropped, if it was.
    public var droppedReason: String? { self.state.withLock { $0.dropped } }

    /// Asks the node to run `task`.
    ///
    /// The task's ``DistributedImaging/TaskRequest/runTimeout`` travels as the stream request's
    /// `run_timeout_ms` (a unary call: `dip-task-timeout-ms` metadata).
    ///
    /// Waits first while ``defaultMaxConcurrentCalls`` (or the configured number of) calls are in
    /// flight; a cancelled waiter throws `CancellationError`.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `unavailable` when the
    ///   node cannot be reached or was dropped, `timedOut` past the timeout,
    ///   `invalidConfiguration` when the node speaks another protocol revision.
    public func run(_ task: TaskRequest) async throws -> TaskReceipt {
        if let reason = self.droppedReason { throw self.droppedError(reason) }
        while self.streaming, self.state.withLock({ $0.stream.mode }) != .unary {
            do {
                return try await self.limiter.withPermit { try await self.runOnStream(task) }
            } catch is StreamUnsupported {
                // An older node: the next kind of stream, or unary calls (below), from now on.
            }
        }
        return try await self.runUnary(task)
    }

    /// One `RunTask` call.
    private func runUnary(_ task: TaskRequest) async throws -> TaskReceipt {
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

    /// Sends `task` on the task stream (wanting one when none is open) and waits for its
    /// answer. Cancelled, it stops waiting at once and asks the node to cancel the task.
    private func runOnStream(_ task: TaskRequest) async throws -> TaskReceipt {
        let request = Dip_V1_RunTasksRequest.with {
            $0.protocolVersion = WireProtocol.wireValue
            $0.task = Dip_V1_TaskRequest(task)
            $0.runTimeoutMs = TaskDeadlineMetadata.milliseconds(task.runTimeout)
        }
        let id = self.state.withLock { state -> UInt64 in
            state.stream.nextID &+= 1
            return state.stream.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<TaskReceipt, any Error>) in
                enum Admission {
                    case queued(MessageOutbox<Dip_V1_RunTasksRequest>, opener: CheckedContinuation<Void, Never>?)
                    case refused(any Error)
                }
                let admission = self.state.withLock { state -> Admission in
                    if Task.isCancelled { return .refused(CancellationError()) }
                    if let reason = state.dropped { return .refused(self.droppedError(reason)) }
                    if state.stream.mode == .unary { return .refused(StreamUnsupported()) }
                    if state.stream.closed {
                        return .refused(DistributedImagingError(code: .unavailable, message: "the connection to \(self.peer) is closed"))
                    }
                    var opener: CheckedContinuation<Void, Never>?
                    let outbox: MessageOutbox<Dip_V1_RunTasksRequest>
                    if let open = state.stream.outbox {
                        outbox = open
                    } else {
                        // Want a new stream.
                        outbox = MessageOutbox()
                        state.stream.generation &+= 1
                        state.stream.outbox = outbox
                        state.stream.requests = outbox
                        opener = state.stream.opener
                        state.stream.opener = nil
                    }
                    state.stream.pending[id] = Pending(generation: state.stream.generation, continuation: continuation)
                    return .queued(outbox, opener: opener)
                }
                switch admission {
                case .refused(let error):
                    continuation.resume(throwing: error)
                case .queued(let outbox, let opener):
                    var message = request
                    message.id = id
                    outbox.yield(message)
                    opener?.resume()
                }
            }
        } onCancel: {
            let (pending, outbox) = self.state.withLock { state in
                (state.stream.pending.removeValue(forKey: id), state.stream.outbox)
            }
            guard let pending else { return }
            pending.continuation.resume(throwing: CancellationError())
            outbox?.yield(.with {
                $0.protocolVersion = WireProtocol.wireValue
                $0.id = id
                $0.cancel = true
            })
        }
    }

    /// Opens a stream each time one is wanted, until ``close()``.
    private func runStreams() async {
        let service = Dip_V1_NodeService.Client(wrapping: self.client)
        var options = self.options
        options.timeout = nil
        while let (generation, mode, requests) = await self.wantedStream() {
            var failure: (any Error)?
            do {
                if mode == .taskPort, let taskAddress = self.taskAddress {
                    try await self.runOnTaskPort(taskAddress, requests: requests)
                } else if mode == .batches {
                    try await service.runTaskBatches(
                        options: options,
                        requestProducer: { writer in
                            while let batch = await requests.next() { try await writer.write(.with { $0.requests = batch }) }
                        },
                        onResponse: { response in
                            for try await message in response.messages {
                                for answer in message.responses { self.answer(answer) }
                            }
                        })
                } else {
                    try await service.runTasks(
                        options: options,
                        requestProducer: { writer in
                            while let batch = await requests.next() { try await writer.write(contentsOf: batch) }
                        },
                        onResponse: { response in
                            for try await message in response.messages { self.answer(message) }
                        })
                }
            } catch {
                failure = error
            }
            self.endStream(generation, mode: mode, failure: failure)
        }
    }

    /// One task stream over the node's task port: `RunTaskBatches`'s messages, each behind its
    /// length, on a TCP connection of its own. Ends when the node closes the connection (after
    /// answering what it read, once the requests ended). Throws ``TaskPortUnusable`` when the
    /// port cannot be reached, or the stream ends or breaks before its first answer.
    ///
    /// Answers are decoded and handed to their tasks on the connection's event loop
    /// (``TaskPortAnswerHandler``); requests are written as they are queued, without waiting for
    /// the socket (the tasks in flight, bounded by the server, bound what can be queued).
    private func runOnTaskPort(_ address: PeerAddress, requests: MessageOutbox<Dip_V1_RunTasksRequest>) async throws {
        let ended = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: Void.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(Self.taskPortConnectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelOption(.allowRemoteHalfClosure, value: true)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers(
                            ByteToMessageHandler(TaskPortFrameDecoder()),
                            TaskPortAnswerHandler(answer: { self.answer($0) }, ended: ended))
                    }
                }
                .connect(host: address.host, port: address.port)
                .get()
        } catch {
            ended.fail(error)  // never read: completes the promise before it is dropped
            throw TaskPortUnusable(cause: error)
        }
        defer { channel.close(promise: nil) }
        let allocator = channel.allocator
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    var written: EventLoopFuture<Void>?
                    while let batch = await requests.next() {
                        let frame = try TaskPortFraming.frame(
                            Dip_V1_RunTasksRequestBatch.with { $0.requests = batch }, allocator: allocator)
                        written = channel.writeAndFlush(frame)
                    }
                    // No more requests: once they are on their way, close the sending half; the
                    // node answers what it read and closes.
                    try await written?.get()
                    try await channel.close(mode: .output)
                } catch {
                    // The requests cannot be sent: end the stream (its tasks are placed again).
                    channel.close(promise: nil)
                }
            }
            defer { group.cancelAll() }
            try await withTaskCancellationHandler {
                try await ended.futureResult.get()
            } onCancel: {
                channel.close(promise: nil)
            }
        }
    }

    /// A task port stream that ended before its first answer.
    fileprivate struct TaskPortEndedEarly: Error, CustomStringConvertible {
        var description: String { "the task port closed the connection before answering" }
    }

    /// How long connecting to a task port may take before the connection uses `RunTaskBatches`.
    static let taskPortConnectTimeout = TimeAmount.seconds(2)

    /// Waits until a stream is wanted; `nil` once closed.
    private func wantedStream() async -> (UInt64, StreamMode, MessageOutbox<Dip_V1_RunTasksRequest>)? {
        while true {
            enum Next {
                case open(UInt64, StreamMode, MessageOutbox<Dip_V1_RunTasksRequest>)
                case closed
                case wait
            }
            let next = self.state.withLock { state -> Next in
                if state.stream.closed && state.stream.requests == nil { return .closed }
                if let requests = state.stream.requests {
                    state.stream.requests = nil
                    return .open(state.stream.generation, state.stream.mode, requests)
                }
                return .wait
            }
            switch next {
            case .open(let generation, let mode, let requests): return (generation, mode, requests)
            case .closed: return nil
            case .wait:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let now = self.state.withLock { state -> Bool in
                        if state.stream.closed || state.stream.requests != nil { return true }
                        state.stream.opener = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
            }
        }
    }

    /// Resumes the task `message` answers (an answer to a task no longer waiting is dropped).
    private func answer(_ message: Dip_V1_RunTasksResponse) {
        guard let pending = self.state.withLock({ $0.stream.pending.removeValue(forKey: message.id) }) else { return }
        guard message.errorCode == 0 else {
            let code = RPCError.Code(Status.Code(rawValue: Int(clamping: message.errorCode)) ?? .unknown) ?? .unknown
            var metadata = Metadata()
            if !message.dipErrorCode.isEmpty { metadata.addString(message.dipErrorCode, forKey: ErrorMetadata.codeKey) }
            let error = RPCError(code: code, message: message.errorMessage, metadata: metadata)
            pending.continuation.resume(throwing: DistributedImagingError.fromRPC(error, peer: self.peer))
            return
        }
        do {
            pending.continuation.resume(returning: try TaskReceipt(message.receipt))
        } catch {
            pending.continuation.resume(throwing: DistributedImagingError.fromRPC(error, peer: self.peer))
        }
    }

    /// The stream `generation` (of kind `mode`) ended: its unanswered tasks fail (`unavailable`;
    /// the server places them again), and the next task wants a new stream. A node that answered
    /// UNIMPLEMENTED gets the next kind of stream (or unary calls), and the tasks are retried so.
    private func endStream(_ generation: UInt64, mode: StreamMode, failure: (any Error)?) {
        let unsupported = (failure as? RPCError)?.code == .unimplemented || failure is TaskPortUnusable
        let (pending, outbox) = self.state.withLock { state -> ([Pending], MessageOutbox<Dip_V1_RunTasksRequest>?) in
            if unsupported, state.stream.mode == mode {
                state.stream.mode = mode.fallback
            }
            var outbox: MessageOutbox<Dip_V1_RunTasksRequest>?
            if state.stream.generation == generation {
                outbox = state.stream.outbox
                state.stream.outbox = nil
                state.stream.requests = nil
            }
            let ended = state.stream.pending.filter { $0.value.generation == generation }
            for id in ended.keys { state.stream.pending.removeValue(forKey: id) }
            return (Array(ended.values), outbox)
        }
        outbox?.finish()
        guard !pending.isEmpty else { return }
        let error: any Error
        if unsupported {
            error = StreamUnsupported()
        } else if let failure {
            error = DistributedImagingError.fromRPC(failure, peer: self.peer)
        } else {
            error = DistributedImagingError(
                code: .unavailable, message: "\(self.peer) ended the task stream before answering (shutting down?)")
        }
        for task in pending { task.continuation.resume(throwing: error) }
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

/// The server's end of a task port connection, on its event loop: hands each answer to its task
/// and completes `ended` when the node closes the connection (or its sending half): with success
/// once an answer came, else with ``TaskPortUnusable``: a stream opens for a task, so one that
/// ends before any answer did not reach a task port (another service on that port, or a node
/// going away at that moment), and its tasks go again, on `RunTaskBatches`. A message that cannot
/// be decoded after the first answer fails it with the decoding error.
final class TaskPortAnswerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let answer: @Sendable (Dip_V1_RunTasksResponse) -> Void
    private let ended: EventLoopPromise<Void>
    private var answered = false
    private var failure: (any Error)?
    private var done = false

    init(answer: @escaping @Sendable (Dip_V1_RunTasksResponse) -> Void, ended: EventLoopPromise<Void>) {
        self.answer = answer
        self.ended = ended
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard self.failure == nil else { return }
        do {
            let message = try TaskPortFraming.decode(Dip_V1_RunTasksResponseBatch.self, from: Self.unwrapInboundIn(data))
            self.answered = true
            for answer in message.responses { self.answer(answer) }
        } catch {
            self.fail(context: context, error)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent {
            self.end()  // the node answered what it read
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(context: context, error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.end()
        context.fireChannelInactive()
    }

    private func fail(context: ChannelHandlerContext, _ error: any Error) {
        if self.failure == nil { self.failure = error }
        context.close(promise: nil)
    }

    private func end() {
        guard !self.done else { return }
        self.done = true
        switch (self.failure, self.answered) {
        case (nil, true): self.ended.succeed()
        case (nil, false): self.ended.fail(GRPCNodeConnection.TaskPortUnusable(cause: GRPCNodeConnection.TaskPortEndedEarly()))
        case (let error?, true): self.ended.fail(error)
        case (let error?, false): self.ended.fail(GRPCNodeConnection.TaskPortUnusable(cause: error))
        }
    }
}
