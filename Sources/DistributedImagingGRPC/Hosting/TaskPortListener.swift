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
/// Requests and answers mean exactly what they do on `RunTaskBatches`, and the same code serves
/// them (``NodeServiceProvider``): deadlines (`run_timeout_ms`), cancel requests, a protocol
/// version per request, every task answered once. When the server closes its sending half, the
/// node answers what it read and closes; on a graceful shutdown the node stops reading, answers
/// what it read and closes (the server places the rest again).
///
/// The port has no TLS and no token: ``GRPCNodeHost`` opens it only when the node has neither,
/// and the server uses it only then too.
public final class TaskPortListener: Service, Sendable {
    private let listen: PeerAddress
    private let provider: NodeServiceProvider
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
        self.provider = NodeServiceProvider(executor: executor)
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
        let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        do {
            server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .bind(host: self.listen.host, port: self.listen.port) { channel in
                    channel.eventLoop.makeCompletedFuture { try TaskPortFraming.asyncChannel(channel) }
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
                    // Stop accepting; the streams open end as the provider's shutdown says.
                    await self.stopping.wait()
                    self.provider.beginGracefulShutdown()
                    server.channel.close(promise: nil)
                }
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        self.served.withLock { $0 += 1 }
                        group.addTask { await self.serve(connection) }
                    }
                }
                self.stopping.signal()
            }
        } onGracefulShutdown: {
            self.stopping.signal()
        }
    }

    /// One stream, until the server closed its half and every task read was answered (or the
    /// connection broke: its tasks are then cancelled).
    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let broken = ShutdownSignal()
        connection.channel.closeFuture.whenComplete { _ in broken.signal() }
        let allocator = connection.channel.allocator
        do {
            try await connection.executeThenClose { inbound, outbound in
                try await self.provider.serveStream(
                    RPCAsyncSequence(wrapping: inbound),
                    callerGone: { await broken.wait() },
                    requests: { try TaskPortFraming.decode(Dip_V1_RunTasksRequestBatch.self, from: $0).requests },
                    write: { answers in
                        try await outbound.write(
                            TaskPortFraming.frame(Dip_V1_RunTasksResponseBatch.with { $0.responses = answers }, allocator: allocator))
                    })
                outbound.finish()
            }
        } catch {
            self.logger.debug(
                "task port stream ended", metadata: ["error": "\(DistributedImagingError.message(of: error))"])
        }
    }
}
