public import DistributedImaging
import GRPCCore
import GRPCNIOTransportHTTP2
public import Logging
public import ServiceLifecycle
import SwiftProtobuf

/// The node side of `dip.v1.RegistryService`: registers a node with its server, registers again
/// every heartbeat, and deregisters on graceful shutdown (of its service group, or
/// ``beginGracefulShutdown()``). Cancelling ``run()`` stops it abruptly, without deregistering.
///
/// While the server cannot be reached the registrar retries (every second, then every
/// heartbeat), logging at `info`; a server that speaks another protocol revision, or refuses the
/// advertisement, ends ``run()`` with the error, since no retry can fix that. A registrar runs
/// once: a second ``run()`` throws.
public final class NodeRegistrar: Service {
    /// The server registered with.
    public let server: PeerAddress

    private let client: GRPCClient<HTTP2ClientTransport.Posix>
    private let advertisement: @Sendable () async throws -> NodeAdvertisement
    private let retryInterval: Duration
    private let logger: Logger
    private let peer: String
    private let lifecycle = RunOnce("NodeRegistrar")
    /// Signalled by ``beginGracefulShutdown()``; ends the heartbeat's pause.
    private let stopping = ShutdownSignal()

    /// Creates a registrar.
    ///
    /// - Parameters:
    ///   - server: The server's address.
    ///   - retryInterval: The wait between attempts while the server cannot be reached.
    ///   - security: The shared token and TLS settings (default none).
    ///   - logger: Where it logs.
    ///   - advertisement: What the node says about itself, read at every heartbeat (load and
    ///     in-flight tasks change). It may wait, e.g. for the node's port to be bound.
    public init(
        server: PeerAddress,
        retryInterval: Duration = .seconds(1),
        security: PeerSecurity = .none,
        logger: Logger,
        advertisement: @escaping @Sendable () async throws -> NodeAdvertisement
    ) throws {
        self.server = server
        self.peer = "dip-server at \(server)"
        self.client = try security.makeClient(to: server, peer: self.peer)
        self.advertisement = advertisement
        self.retryInterval = retryInterval
        self.logger = logger
    }

    /// Stops heartbeating: ``run()`` deregisters (when it registered) and returns once the call
    /// in flight ends. The same as a graceful shutdown of the registrar's service group.
    public func beginGracefulShutdown() {
        self.stopping.signal()
    }

    /// Runs the connection to the server until ``close()`` (``run()`` does this itself).
    public func runConnections() async throws {
        try await self.client.runConnections()
    }

    /// Stops accepting calls; ``runConnections()`` returns once calls in flight finish.
    public func close() {
        self.client.beginGracefulShutdown()
    }

    /// Registers once (``runConnections()`` must be running).
    ///
    /// - Returns: The heartbeat interval the server asks for.
    /// - Throws: ``DistributedImaging/DistributedImagingError`` (`unavailable`, `invalidConfiguration`
    ///   on a protocol mismatch, `invalidArgument` for a refused advertisement).
    public func register() async throws -> Duration {
        let registry = Dip_V1_RegistryService.Client(wrapping: self.client)
        var options = CallOptions.defaults
        options.waitForReady = false
        options.timeout = .seconds(10)
        let node = Dip_V1_NodeInfo(try await self.advertisement())
        do {
            let response = try await registry.registerNode(
                .with {
                    $0.protocolVersion = WireProtocol.wireValue
                    $0.node = node
                }, options: options)
            let interval = response.heartbeatIntervalSeconds
            // The server's word, untrusted: anything outside the range the server may be
            // configured with (0.05...3600 s) falls back to the default.
            return interval.isFinite && (0.05...3600).contains(interval) ? .seconds(double: interval) : .seconds(5)
        } catch {
            throw DistributedImagingError.fromRPC(error, peer: self.peer)
        }
    }

    /// Deregisters (best effort: a server that is gone is fine; ``runConnections()`` must be running).
    public func deregister() async {
        let registry = Dip_V1_RegistryService.Client(wrapping: self.client)
        var options = CallOptions.defaults
        options.waitForReady = false
        options.timeout = .seconds(2)
        do {
            let name = try await self.advertisement().name
            _ = try await registry.deregisterNode(
                .with {
                    $0.protocolVersion = WireProtocol.wireValue
                    $0.name = name.rawValue
                }, options: options)
            self.logger.info("deregistered", metadata: ["server": "\(self.server)"])
        } catch {
            self.logger.debug("deregistration failed", metadata: ["server": "\(self.server)", "error": "\(error)"])
        }
    }

    /// Registers and heartbeats until graceful shutdown, then deregisters.
    ///
    /// - Throws: as ``register()`` for a refusal no retry can fix; `internalError` when the
    ///   registrar ran already.
    public func run() async throws {
        try self.lifecycle.start()
        defer { self.lifecycle.finish() }
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await self.client.runConnections() }
            defer { self.client.beginGracefulShutdown() }
            // Deregister only after a registration: a run stopped before its first call has
            // nothing to take back. Not when cancelled either: cancelling is the abrupt stop,
            // and a call in a cancelled task has no deadline (it ends only when its stream does).
            if try await self.heartbeat(), !Task.isCancelled { await self.deregister() }
        }
    }

    /// Registers until cancelled or graceful shutdown; returns whether any registration succeeded.
    private func heartbeat() async throws -> Bool {
        var everRegistered = false
        var registered = false
        var wait = self.retryInterval
        while !Task.isCancelled && !Task.isShuttingDownGracefully && !self.stopping.isSignalled {
            do {
                wait = try await self.register()
                if !registered {
                    self.logger.info("registered with the server", metadata: ["server": "\(self.server)"])
                    registered = true
                    everRegistered = true
                }
            } catch let error as DistributedImagingError where error.code == .unavailable || error.code == .timedOut {
                self.logger.info(
                    "cannot register with the server; retrying", metadata: ["server": "\(self.server)", "error": "\(error)"])
                registered = false
                wait = self.retryInterval
            }
            guard await self.pause(for: wait) else { return everRegistered }
        }
        return everRegistered
    }

    /// Waits `duration`; false when stopped, shut down gracefully or cancelled first.
    private func pause(for duration: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }) != nil }
            group.addTask {
                await self.stopping.wait()
                return false
            }
            let slept = await group.next() ?? false
            group.cancelAll()
            return slept
        }
    }
}
