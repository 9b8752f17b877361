import DistributedImaging
import DistributedImagingGRPC
import Logging
import Prometheus
import ServiceLifecycle
import Testing

/// Serving types run once, as `GRPCServer` does: a second `run()` is an error, while the first
/// runs and after it ended.
@Suite("Serving lifecycles", .timeLimit(.minutes(1)))
struct LifecycleTests {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Starts `service.run()` twice at once: one of them must fail at once with `internalError`
    /// naming the type; then the other is stopped by `stop` (gracefully: cancelling a task that
    /// reads from a NIO channel can leave it waiting forever, apple/swift-nio#3472) or, without
    /// one, by cancellation; a later `run()` fails the same way.
    func expectRunsOnce(
        _ service: some Service, named name: String, stop: (@Sendable () async throws -> Void)? = nil
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            group.addTask { try await service.run() }
            var error: DistributedImagingError?
            do {
                try await group.next()
            } catch let thrown as DistributedImagingError {
                error = thrown
            }
            #expect(error?.code == .internalError)
            #expect(error?.message.contains("\(name).run() called while it is running") == true, "\(String(describing: error))")
            if let stop {
                try await stop()
            } else {
                group.cancelAll()
            }
            try await group.waitForAll()
        }
        let again = await #expect(throws: DistributedImagingError.self) { try await service.run() }
        #expect(again?.message.contains("\(name).run() called while it has finished") == true, "\(String(describing: again))")
    }

    @Test("GRPCEndpoint runs once")
    func grpcEndpoint() async throws {
        let endpoint = GRPCEndpoint(listen: PeerAddress(host: "127.0.0.1", port: 0), services: [])
        try await self.expectRunsOnce(endpoint, named: "GRPCEndpoint") {
            _ = try await endpoint.listeningAddress
            endpoint.beginGracefulShutdown()
        }
    }

    @Test("A GRPCEndpoint shut down before it runs binds, stops at once, and settles its address")
    func grpcEndpointStoppedFirst() async throws {
        let endpoint = GRPCEndpoint(listen: PeerAddress(host: "127.0.0.1", port: 0), services: [])
        endpoint.beginGracefulShutdown()
        try await endpoint.run()
        // Once hung: a server stopped before it started never bound, so its address never came.
        await #expect(throws: DistributedImagingError.self) { _ = try await endpoint.listeningAddress }
    }

    @Test("MetricsEndpoint runs once")
    func metricsEndpoint() async throws {
        let endpoint = MetricsEndpoint(listen: PeerAddress(host: "127.0.0.1", port: 0), registry: PrometheusCollectorRegistry())
        try await self.expectRunsOnce(endpoint, named: "MetricsEndpoint")
    }

    @Test("NodeRegistrar runs once; it registers, and deregisters when shut down gracefully")
    func registrar() async throws {
        // A live registry and node, and a graceful stop: cancelling a registrar (its client's
        // connection reading) hung this test twice in CI on a loaded machine. Heartbeats 30 s
        // apart: a graceful shutdown must not wait out the pause between them.
        let start = ContinuousClock.now
        let membership = try NodeMembership(heartbeatInterval: .seconds(30), logger: Self.logger, connect: GRPCNodeConnection.connector())
        let executor = FakeExecutor(node: NodeID("n"))
        try await withThrowingDiscardingTaskGroup { outer in
            outer.addTask { try await membership.run() }
            defer { membership.beginGracefulShutdown() }
            try await withEndpoint([RegistryServiceProvider(membership: membership)]) { serverAddress in
                try await withEndpoint([NodeServiceProvider(executor: executor)]) { nodeAddress in
                    let registrar = try NodeRegistrar(server: serverAddress, logger: Self.logger) {
                        NodeAdvertisement(name: executor.node, address: "\(nodeAddress)")
                    }
                    try await self.expectRunsOnce(registrar, named: "NodeRegistrar") {
                        try await ManagedProcess.waitUntil { membership.advertisements().map(\.name) == [executor.node] }
                        registrar.beginGracefulShutdown()
                    }
                    #expect(membership.advertisements().isEmpty, "deregistered on graceful shutdown")
                }
            }
        }
        #expect(ContinuousClock.now - start < .seconds(20), "the registrar and the membership waited out a heartbeat")
    }

    @Test("A NodeRegistrar cancelled before it starts returns without a call (it once waited forever)")
    func registrarCancelledAtOnce() async throws {
        let registrar = try NodeRegistrar(server: PeerAddress(host: "127.0.0.1", port: 1), logger: Self.logger) {
            NodeAdvertisement(name: NodeID("n"), address: "127.0.0.1:2")
        }
        let started = await withTaskGroup(of: Bool.self) { group in
            group.cancelAll()
            // Starts cancelled: its client's connections never run.
            group.addTask {
                let cancelled = Task.isCancelled
                try? await registrar.run()
                return cancelled
            }
            return await group.next() ?? false
        }
        #expect(started, "the run began cancelled")
    }
}
