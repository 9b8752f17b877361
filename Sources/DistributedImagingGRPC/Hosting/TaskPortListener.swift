public import DistributedImaging
import GRPCCore
public import Logging
import NIOCore
import NIOPosix
public import ServiceLifecycle
import SwiftProtobuf
import Synchronization

/// A node's task port: the task stream of `NodeService.RunTaskBatches` without HTTP/2 and gRPC,
/// for a server on a trusted network (`Docs/Protocol.md`, "Task port").
///
/// Each TCP connection is one stream: the server sends `RunTasksRequestBatch` messages and the
/// node answers with `RunTasksResponseBatch` messages, each behind a 4-byte big-endian length.
/// Requests and answers mean exactly what they do on `RunTaskBatches`, and the same code runs
/// them (as for ``NodeServiceProvider``): deadlines (`run_timeout_ms`), cancel requests, a
/// protocol version per request, every task answered once. When the server closes its sending
/// half, the node answers what it read and closes; on a graceful shutdown the node stops reading,
/// answers what it read and closes (the server places the rest again).
///
/// Each connection is served on its event loop by a channel handler: requests are decoded and
/// their tasks started where the bytes arrive, and the answers ready together are written as one
/// message, with no task of its own in between.
///
/// The port has no TLS and no token: ``GRPCNodeHost`` opens it only when the node has neither,
/// and the server uses it only then too.
public final class TaskPortListener: Service, Sendable {
    private let listen: PeerAddress
    private let executor: any TaskExecutor
    private let logger: Logger
    private let bound = Mutex(Binding.pending([]))
    private let stopping = ShutdownSignal()

    private enum Binding {
        case pending([CheckedContinuation<PeerAddress?, Never>])
        case done(PeerAddress?)
    }

    /// A listener for `executor` on `listen` (port 0: any free port); nothing is bound until
    /// ``run()``.
    public init(listen: PeerAddress, executor: any TaskExecutor, logger: Logger) {
        self.listen = listen
        self.executor = executor
        self.logger = logger
    }

    /// The address bound, once ``run()`` bound it; `nil` when binding failed or the listener
    /// stopped first.
    public var listeningAddress: PeerAddress? {
        get async {
            await withCheckedContinuation { (continuation: CheckedContinuation<PeerAddress?, Never>) in
                let now = self.bound.withLock { state -> PeerAddress?? in
                    switch state {
                    case .done(let address): return .some(address)
                    case .pending(var waiters):
                        waiters.append(continuation)
                        state = .pending(waiters)
                        return .none
                    }
                }
                if let now { continuation.resume(returning: now) }
            }
        }
    }

    /// Stops accepting connections; each open stream stops reading, answers what it read and
    /// closes, and ``run()`` returns once they did (what a `ServiceGroup`'s graceful shutdown
    /// does too).
    public func beginGracefulShutdown() {
        self.stopping.signal()
    }

    /// The streams served so far (each a connection from a server).
    var streamsServed: Int { self.served.withLock { $0 } }
    private let served = Mutex(0)

    /// ``listeningAddress`` once ``run()`` has started (it may still be binding); `nil` before,
    /// without waiting: what a registration advertises, so that a node whose task port is not
    /// run registers without one.
    var advertisableAddress: PeerAddress? {
        get async {
            guard self.started.withLock({ $0 }) else { return nil }
            return await self.listeningAddress
        }
    }
    private let started = Mutex(false)

    private func settle(_ address: PeerAddress?) {
        let waiters = self.bound.withLock { state -> [CheckedContinuation<PeerAddress?, Never>] in
            guard case .pending(let waiters) = state else { return [] }
            state = .done(address)
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: address) }
    }

    /// Serves the port until a graceful shutdown (or cancellation), then waits for its streams:
    /// each stops reading, answers what it read, and closes.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `unavailable` when the
    ///   port cannot be bound.
    public func run() async throws {
        self.started.withLock { $0 = true }
        defer { self.settle(nil) }
        let server: NIOAsyncChannel<any Channel, Never>
        let (executor, stopping, logger) = (self.executor, self.stopping, self.logger)
        do {
            server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .bind(host: self.listen.host, port: self.listen.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers(
                            ByteToMessageHandler(TaskPortFrameDecoder()),
                            TaskPortStreamHandler(executor: executor, stopping: stopping, logger: logger))
                        return channel
                    }
                }
        } catch {
            throw DistributedImagingError(
                code: .unavailable, message: "cannot listen on the task port \(self.listen): \(DistributedImagingError.message(of: error))",
                cause: error)
        }
        let address = server.channel.localAddress.flatMap { local in local.port.map { PeerAddress(host: self.listen.host, port: $0) } }
        self.settle(address)
        self.logger.info("task port listening", metadata: ["address": "\(address.map { "\($0)" } ?? "?")"])
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask {
                    // Stop accepting; each stream open stops reading (its handler waits for
                    // the same signal), answers what it read and closes.
                    await self.stopping.wait()
                    server.channel.close(promise: nil)
                }
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        self.served.withLock { $0 += 1 }
                        group.addTask { try? await connection.closeFuture.get() }
                    }
                }
                self.stopping.signal()
            }
        } onGracefulShutdown: {
            self.stopping.signal()
        }
    }
}

/// One task port connection on the node, on its event loop: decodes each request message, starts
/// its tasks (``RunningTasks``), and writes the answers that are ready together as one message.
///
/// Reading ends when the server closes its sending half, when a message cannot be decoded or is
/// too long, or on a graceful shutdown (`stopping`); the handler then answers the tasks it read,
/// and closes the connection after the last answer. A connection that breaks first cancels its
/// tasks (unless the node is shutting down, when they complete).
final class TaskPortStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The most answers written in one message (far below the 4 MiB limit).
    static let maximumAnswersPerMessage = 64

    private let executor: any TaskExecutor
    private let stopping: ShutdownSignal
    private let logger: Logger
    private var context: ChannelHandlerContext?
    private var running: RunningTasks?
    private var watcher: Task<Void, Never>?
    private var reading = true
    private var ready: [Dip_V1_RunTasksResponse] = []
    private var writeScheduled = false
    private var allAnswered = false

    init(executor: any TaskExecutor, stopping: ShutdownSignal, logger: Logger) {
        self.executor = executor
        self.stopping = stopping
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        // Answers come from the tasks' own threads: each hops to the event loop once.
        self.running = RunningTasks(
            answer: { answer in loop.execute { handler.value.queue(answer) } },
            allAnswered: { loop.execute { handler.value.finishAnswering() } })
        let stopping = self.stopping
        self.watcher = Task {
            await stopping.wait()
            if !Task.isCancelled { loop.execute { handler.value.stopReading() } }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.watcher?.cancel()
        self.context = nil
        // `running` answers through this handler: let the two go (the tasks still running keep
        // it until they end; their answers are then dropped).
        self.running = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard self.reading, let running = self.running else { return }
        let batch: Dip_V1_RunTasksRequestBatch
        do {
            batch = try TaskPortFraming.decode(Dip_V1_RunTasksRequestBatch.self, from: Self.unwrapInboundIn(data))
        } catch {
            self.logger.debug("task port: a message that is not a RunTasksRequestBatch", metadata: ["error": "\(error)"])
            self.stopReading()
            return
        }
        for request in batch.requests { running.handle(request, executor: self.executor) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent {
            self.stopReading()  // the server sent its last request
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A frame over the limit (the decoder's error), or the connection failing.
        self.logger.debug("task port stream: reading ended", metadata: ["error": "\(DistributedImagingError.message(of: error))"])
        self.stopReading()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.reading = false
        self.watcher?.cancel()
        // The server went away: stop its tasks (their answers have nowhere to go), unless the
        // node is shutting down and lets them complete.
        if !self.stopping.isSignalled { self.running?.cancelAll() }
        context.fireChannelInactive()
    }

    /// Takes no more requests; the tasks read are answered, then the connection closes.
    private func stopReading() {
        guard self.reading else { return }
        self.reading = false
        self.running?.endReading()
    }

    private func queue(_ answer: Dip_V1_RunTasksResponse) {
        self.ready.append(answer)
        guard !self.writeScheduled, let context = self.context else { return }
        // Answers that arrive before this runs go in the same message.
        self.writeScheduled = true
        context.eventLoop.assumeIsolated().execute { self.writeReady() }
    }

    /// Writes the answers ready (in messages of at most ``maximumAnswersPerMessage``).
    @discardableResult
    private func writeReady() -> EventLoopFuture<Void>? {
        self.writeScheduled = false
        guard let context = self.context, context.channel.isActive, !self.ready.isEmpty else {
            self.ready.removeAll()
            return nil
        }
        var written: EventLoopFuture<Void>?
        var start = 0
        while start < self.ready.count {
            let end = min(start + Self.maximumAnswersPerMessage, self.ready.count)
            let message = Dip_V1_RunTasksResponseBatch.with { $0.responses = Array(self.ready[start..<end]) }
            do {
                let frame = try TaskPortFraming.frame(message, allocator: context.channel.allocator)
                written = context.write(Self.wrapOutboundOut(frame))
            } catch {
                // Cannot happen for answers this small; the connection closes, the server places again.
                self.logger.error("task port: cannot frame answers", metadata: ["error": "\(error)"])
                context.close(promise: nil)
                return nil
            }
            start = end
        }
        self.ready.removeAll(keepingCapacity: true)
        context.flush()
        return written
    }

    /// Every task read was answered and reading ended: write what is left, then close.
    private func finishAnswering() {
        guard !self.allAnswered, let context = self.context else { return }
        self.allAnswered = true
        if let written = self.writeReady() {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
    }
}
