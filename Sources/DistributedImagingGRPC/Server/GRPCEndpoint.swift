public import DistributedImaging
public import GRPCCore
import GRPCNIOTransportHTTP2
public import Logging
import ServiceLifecycle
import Synchronization

/// A gRPC server on HTTP/2 serving some of the `dip.v1` services: the listening half of
/// `dip-server` and `dip-node`. Plaintext by default; TLS and a required token come from
/// `security` (``PeerSecurity``).
///
/// As a `Service` (and the ``DistributedImaging/ListeningEndpoint`` of a
/// ``DistributedImaging/ServerHost``), ``run()`` serves until graceful shutdown, then stops
/// accepting calls and returns once calls in flight finish. An endpoint runs once: a second
/// ``run()`` throws.
///
/// ```swift
/// let endpoint = GRPCEndpoint(listen: PeerAddress(host: "127.0.0.1", port: 0),
///                             services: [NodeServiceProvider(executor: node)])
/// // in a task: try await endpoint.run()
/// let address = try await endpoint.listeningAddress   // the bound port
/// ```
public final class GRPCEndpoint: ListeningEndpoint {
    private let transport: HTTP2ServerTransport.Posix
    private let server: GRPCServer<HTTP2ServerTransport.Posix>
    private let onListening: @Sendable (PeerAddress) -> Void
    private let listen: PeerAddress
    private let lifecycle = RunOnce("GRPCEndpoint")
    /// The server is told to shut down only once it listens: stopped before (`notStarted`), a
    /// `GRPCServer` never binds, and whoever awaits its transport's listening address waits
    /// forever.
    private let serving = Mutex(Serving.idle)

    private enum Serving {
        case idle, binding, stopRequested, listening
    }
    /// Services with long-lived calls to end on graceful shutdown (task streams).
    private let participants: [any GracefulShutdownParticipant]

    /// Creates an endpoint; nothing is bound until ``run()``.
    ///
    /// - Parameters:
    ///   - listen: Where to listen; port 0 picks a free port (read it from ``listeningAddress``).
    ///   - services: The services to serve.
    ///   - security: The shared token every call must carry, and TLS (default none).
    ///   - maxConcurrentStreams: The calls one client connection may have open at once,
    ///     announced as HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS` (default
    ///     ``defaultMaxConcurrentStreams``): a client past it waits for a call to end instead of
    ///     having its connection closed.
    ///   - logger: Where refused calls are logged (`warning`, without the token).
    ///   - onListening: Called once with the bound address (e.g. to print it).
    public init(
        listen: PeerAddress, services: [any RegistrableRPCService],
        security: PeerSecurity = .none, maxConcurrentStreams: Int = GRPCEndpoint.defaultMaxConcurrentStreams,
        logger: Logger? = nil,
        onListening: @escaping @Sendable (PeerAddress) -> Void = { _ in }
    ) {
        self.transport = HTTP2ServerTransport.Posix(
            address: listen.bindAddress, transportSecurity: security.serverTransportSecurity,
            config: .defaults { config in
                // Unannounced, NIO still enforces 100 and closes the connection of a client that
                // opens more (GOAWAY PROTOCOL_ERROR); announced, the client queues its calls.
                config.http2.maxConcurrentStreams = min(max(maxConcurrentStreams, 1), Self.maxConcurrentStreamsRange.upperBound)
                // Callers (dip-client) ping every 10 s or more to notice a hung peer.
                config.connection.keepalive.clientBehavior = .init(
                    minPingIntervalWithoutCalls: .seconds(5), allowWithoutCalls: true)
            })
        self.server = GRPCServer(
            transport: self.transport, services: services, interceptors: security.serverInterceptors(logger: logger))
        self.onListening = onListening
        self.listen = listen
        self.participants = services.compactMap { $0 as? any GracefulShutdownParticipant }
    }

    /// The default of `maxConcurrentStreams` (keys `server.maxConcurrentStreams`,
    /// `node.maxConcurrentStreams`; flag `--max-concurrent-streams`).
    public static let defaultMaxConcurrentStreams = 256

    /// The values `maxConcurrentStreams` may take.
    public static let maxConcurrentStreamsRange = 1...100_000

    /// The bound address, once ``run()`` has bound it.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `unavailable` when binding
    ///   failed (the port is taken, say) or the endpoint stopped.
    public var listeningAddress: PeerAddress {
        get async throws {
            do {
                let address = try await self.transport.listeningAddress
                guard let peer = PeerAddress(address) else {
                    throw DistributedImagingError(code: .internalError, message: "listening on \(address), not IP")
                }
                return peer
            } catch let error as DistributedImagingError {
                throw error
            } catch {
                throw DistributedImagingError(code: .unavailable, message: "cannot listen: \(DistributedImagingError.message(of: error))", cause: error)
            }
        }
    }

    /// Serves until graceful shutdown or ``beginGracefulShutdown()``.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `unavailable` when the
    ///   address cannot be bound (in use, not local, ...), `internalError` when the endpoint ran
    ///   already.
    public func run() async throws {
        try self.lifecycle.start()
        defer { self.lifecycle.finish() }
        // Shut down before it started, it still binds, then stops at once: the transport's
        // listening address settles only once it has tried to bind.
        self.serving.withLock { state in
            if state == .idle { state = .binding }
        }
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask {
                    do {
                        try await self.server.serve()
                    } catch let error as RuntimeError {
                        let cause = error.cause.map { "\($0)" } ?? error.message
                        throw DistributedImagingError(code: .unavailable, message: "cannot listen on \(self.listen): \(cause)")
                    }
                }
                // Fails only when binding failed, which serve() reports itself.
                let address = try? await self.listeningAddress
                let stopRequested = self.serving.withLock { state in
                    defer { state = .listening }
                    return state == .stopRequested
                }
                if stopRequested {
                    self.server.beginGracefulShutdown()
                } else if let address {
                    self.onListening(address)
                }
            }
        } onGracefulShutdown: {
            self.beginGracefulShutdown()
        }
    }

    /// Stops accepting calls; ``run()`` returns once calls in flight finish (a task stream
    /// ends once the tasks it carries are answered).
    public func beginGracefulShutdown() {
        // Participants first: gRPC's quiescing cancels every call in flight, and they must know
        // that it is a shutdown, not the caller, whose work in flight still completes.
        for participant in self.participants { participant.beginGracefulShutdown() }
        let listening = self.serving.withLock { state in
            guard state == .listening else {
                state = .stopRequested
                return false
            }
            return true
        }
        if listening { self.server.beginGracefulShutdown() }
    }
}
