import DistributedImaging
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
public import Prometheus
public import ServiceLifecycle
import Synchronization

/// A tiny HTTP/1 server for Prometheus: `GET /metrics` answers the registry in the text
/// exposition format; every other path is 404, every other method 405.
///
/// Run it as a service in the executable's `ServiceGroup`; it stops on graceful shutdown. It runs
/// once: a second ``run()`` throws.
///
/// ```swift
/// let registry = PrometheusCollectorRegistry()
/// let metrics = JobMetrics(factory: PrometheusMetricsFactory(registry: registry))
/// let endpoint = MetricsEndpoint(listen: try PeerAddress(parsing: "0.0.0.0:9100"), registry: registry)
/// ```
public final class MetricsEndpoint: Service, Sendable {
    /// The address to bind (port 0 picks a free one).
    public let listen: PeerAddress

    private let registry: PrometheusCollectorRegistry
    private let beforeScrape: @Sendable () -> Void
    private let onListening: @Sendable (PeerAddress) -> Void
    private let bound = Mutex<PeerAddress?>(nil)
    private let group: any EventLoopGroup
    private let lifecycle = RunOnce("MetricsEndpoint")

    /// Creates the endpoint; nothing is bound until ``run()``.
    ///
    /// - Parameters:
    ///   - listen: `HOST:PORT` to bind.
    ///   - registry: What to expose.
    ///   - beforeScrape: Called before each scrape, to refresh gauges (nodes alive, say).
    ///   - onListening: Called with the bound address.
    public init(
        listen: PeerAddress, registry: PrometheusCollectorRegistry, beforeScrape: @escaping @Sendable () -> Void = {},
        onListening: @escaping @Sendable (PeerAddress) -> Void = { _ in }
    ) {
        self.listen = listen
        self.registry = registry
        self.beforeScrape = beforeScrape
        self.onListening = onListening
        self.group = MultiThreadedEventLoopGroup.singleton
    }

    /// The bound address, once ``run()`` has bound it.
    public var listeningAddress: PeerAddress? {
        self.bound.withLock { $0 }
    }

    /// Serves until graceful shutdown or cancellation.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `unavailable` naming the
    ///   address when it cannot be bound, `internalError` when the endpoint ran already.
    public func run() async throws {
        try self.lifecycle.start()
        defer { self.lifecycle.finish() }
        let registry = self.registry
        let beforeScrape = self.beforeScrape
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: self.group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.pipeline.configureHTTPServerPipeline().flatMap {
                        channel.pipeline.addHandler(MetricsHTTPHandler(registry: registry, beforeScrape: beforeScrape))
                    }
                }
                .bind(host: self.listen.host, port: self.listen.port)
                .get()
        } catch {
            throw DistributedImagingError(code: .unavailable, message: "metrics endpoint cannot listen on \(self.listen): \(DistributedImagingError.message(of: error))", cause: error)
        }
        let address = PeerAddress(host: self.listen.host, port: channel.localAddress?.port ?? self.listen.port)
        self.bound.withLock { $0 = address }
        self.onListening(address)
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                try? await channel.closeFuture.get()
            } onCancel: {
                channel.close(promise: nil)
            }
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
    }
}

/// Answers one HTTP/1 request at a time on a connection.
private final class MetricsHTTPHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    private let beforeScrape: @Sendable () -> Void

    init(registry: PrometheusCollectorRegistry, beforeScrape: @escaping @Sendable () -> Void) {
        self.registry = registry
        self.beforeScrape = beforeScrape
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = self.unwrapInboundIn(data) else { return }
        let status: HTTPResponseStatus
        var body: [UInt8]
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        if path != "/metrics" {
            status = .notFound
            body = Array("not found: GET /metrics\n".utf8)
        } else if head.method != .GET && head.method != .HEAD {
            status = .methodNotAllowed
            body = Array("method not allowed: GET /metrics\n".utf8)
        } else {
            self.beforeScrape()
            status = .ok
            body = self.registry.emitToBuffer()
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: status == .ok ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain")
        headers.add(name: "Content-Length", value: "\(body.count)")
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        if head.method == .HEAD { body = [] }
        context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        context.write(self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        if head.isKeepAlive {
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let channel = context.channel
            context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
