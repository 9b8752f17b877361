import DistributedImaging
@testable import DistributedImagingGRPC
import DistributedImagingTestKit
import GRPCCore
import Logging
import Synchronization
import Testing

/// The gRPC transport as the conformance kit drives it: each node behind its own endpoint on
/// 127.0.0.1 with an ephemeral port, reached by a `GRPCNodeConnection`; a node is cut off by
/// stopping its endpoint. Jobs go through a `GRPCJobSubmitter` to a `JobServiceProvider`.
struct GRPCUnderTest: TransportUnderTest {
    /// Whether each node also serves a task port, and its connection carries tasks there.
    var taskPorts = false

    func withNodes<Result: Sendable>(
        _ executors: [any TaskExecutor], _ body: (TransportConformance.ConnectedNodes) async throws -> Result
    ) async throws -> Result {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var endpoints: [NodeID: (endpoint: GRPCEndpoint, stopped: AsyncStream<Void>, taskPort: TaskPortListener?)] = [:]
            var connections: [GRPCNodeConnection] = []
            defer {
                for connection in connections { connection.close() }
                for node in endpoints.values {
                    node.endpoint.beginGracefulShutdown()
                    node.taskPort?.beginGracefulShutdown()
                }
            }
            for executor in executors {
                let endpoint = GRPCEndpoint(
                    listen: PeerAddress(host: "127.0.0.1", port: 0), services: [NodeServiceProvider(executor: executor)])
                let (stopped, continuation) = AsyncStream.makeStream(of: Void.self)
                group.addTask {
                    defer { continuation.finish() }
                    try await endpoint.run()
                }
                var taskAddress: PeerAddress?
                var taskPort: TaskPortListener?
                if self.taskPorts {
                    let listener = TaskPortListener(
                        listen: PeerAddress(host: "127.0.0.1", port: 0), executor: executor,
                        logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
                    group.addTask { try await listener.run() }
                    taskAddress = await listener.listeningAddress
                    taskPort = listener
                }
                endpoints[executor.node] = (endpoint, stopped, taskPort)
                let connection = try GRPCNodeConnection(
                    node: executor.node, address: try await endpoint.listeningAddress, taskAddress: taskAddress)
                group.addTask { try await connection.runConnections() }
                connections.append(connection)
            }
            let cut = CutNodes()
            let cutOff: @Sendable (NodeID) async throws -> Void = { [endpoints] node in
                cut.nodes.withLock { _ = $0.insert(node) }
                guard let served = endpoints[node] else { return }
                served.taskPort?.beginGracefulShutdown()
                served.endpoint.beginGracefulShutdown()
                for await _ in served.stopped {}
            }
            let result = try await body(.init(connections, cutOff: cutOff))
            if self.taskPorts {
                // The checks ran over the task ports: no connection to a node still up fell
                // back to RunTaskBatches.
                let up = connections.filter { connection in !cut.nodes.withLock { $0.contains(connection.node) } }
                let fellBack = up.filter { !$0.usesTaskPort }.map(\.node)
                #expect(fellBack.isEmpty, "connections fell back from their task ports")
            }
            for connection in connections { connection.close() }
            for node in endpoints.values {
                node.endpoint.beginGracefulShutdown()
                node.taskPort?.beginGracefulShutdown()
            }
            try await group.waitForAll()
            return result
        }
    }

    func withSubmitter<Result: Sendable>(
        serving server: any JobSubmitter, _ body: (any JobSubmitter) async throws -> Result
    ) async throws -> Result {
        let service = JobServiceProvider(submitter: server, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        return try await withEndpoint([service]) { address in
            try await GRPCJobSubmitter.withSubmitter(server: address) { try await body($0) }
        }
    }
}

/// Serves `services` on 127.0.0.1 with an ephemeral port for the duration of `body`; always
/// shuts the server down, also when `body` throws.
func withEndpoint<Result: Sendable>(
    _ services: [any RegistrableRPCService], _ body: (PeerAddress) async throws -> Result
) async throws -> Result {
    let endpoint = GRPCEndpoint(listen: PeerAddress(host: "127.0.0.1", port: 0), services: services)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await endpoint.run() }
        defer { endpoint.beginGracefulShutdown() }
        let address = try await endpoint.listeningAddress
        let result = try await body(address)
        endpoint.beginGracefulShutdown()
        try await group.waitForAll()
        return result
    }
}

/// The nodes a conformance check cut off.
final class CutNodes: Sendable {
    let nodes = Mutex<Set<NodeID>>([])
}
