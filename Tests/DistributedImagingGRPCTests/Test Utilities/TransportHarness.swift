import DistributedImaging
import DistributedImagingGRPC
import GRPCCore
import Logging
import Testing

/// One way for the server to reach a node and for a client to reach a server. The conformance
/// suite runs every assertion against each.
enum TransportKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    /// Direct calls to the executor and submitter.
    case direct
    /// The library's `InProcessTransport` (what `LocalCluster` uses).
    case inProcess
    /// gRPC over HTTP/2 on 127.0.0.1 with an ephemeral port.
    case grpc

    var testDescription: String { self.rawValue }

    /// Runs `body` with a connection to `executor` over this transport.
    func withNodeConnection<Result: Sendable>(
        to executor: any TaskExecutor, _ body: (any NodeConnection) async throws -> Result
    ) async throws -> Result {
        switch self {
        case .direct:
            return try await body(DirectConnection(executor: executor))
        case .inProcess:
            let transport = InProcessTransport()
            transport.register(executor)
            return try await body(transport.connection(to: executor.node))
        case .grpc:
            return try await withEndpoint([NodeServiceProvider(executor: executor)]) { address in
                let connection = try GRPCNodeConnection(node: executor.node, address: address)
                return try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await connection.runConnections() }
                    defer { connection.close() }
                    let result = try await body(connection)
                    connection.close()
                    try await group.waitForAll()
                    return result
                }
            }
        }
    }

    /// Runs `body` with a client of `submitter` over this transport.
    func withSubmitter<Result: Sendable>(
        serving submitter: any JobSubmitter, _ body: (any JobSubmitter) async throws -> Result
    ) async throws -> Result {
        switch self {
        case .direct, .inProcess:
            // In one process the client holds the server itself.
            return try await body(submitter)
        case .grpc:
            let service = JobServiceProvider(submitter: submitter, logger: .init(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
            return try await withEndpoint([service]) { address in
                try await GRPCJobSubmitter.withSubmitter(server: address) { try await body($0) }
            }
        }
    }
}

/// The in-process path: the server calls the executor directly.
struct DirectConnection: NodeConnection {
    let executor: any TaskExecutor
    var node: NodeID { self.executor.node }
    func run(_ task: TaskRequest) async throws -> TaskReceipt { await self.executor.execute(task) }
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
