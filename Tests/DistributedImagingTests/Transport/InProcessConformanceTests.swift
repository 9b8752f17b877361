import DistributedImaging
import DistributedImagingTestKit
import Testing

/// The library's in-process transport, as `LocalCluster` uses it: the client holds the server.
struct InProcessUnderTest: TransportUnderTest {
    func withNodes<Result: Sendable>(
        _ executors: [any TaskExecutor], _ body: (TransportConformance.ConnectedNodes) async throws -> Result
    ) async throws -> Result {
        let transport = InProcessTransport()
        for executor in executors { transport.register(executor) }
        return try await body(.init(executors.map { transport.connection(to: $0.node) }, cutOff: { transport.unregister($0) }))
    }

    func withSubmitter<Result: Sendable>(
        serving server: any JobSubmitter, _ body: (any JobSubmitter) async throws -> Result
    ) async throws -> Result {
        try await body(server)
    }
}

/// In-process connections wrapped by a `FaultInjectingTransport` that injects nothing: the
/// wrapper must be invisible, and its cut-off must look like an unreachable node.
struct FaultFreeWrapperUnderTest: TransportUnderTest {
    func withNodes<Result: Sendable>(
        _ executors: [any TaskExecutor], _ body: (TransportConformance.ConnectedNodes) async throws -> Result
    ) async throws -> Result {
        let transport = InProcessTransport()
        for executor in executors { transport.register(executor) }
        let faults = try FaultInjectingTransport(seed: 1)
        let connections = executors.map { faults.wrap(transport.connection(to: $0.node)) }
        return try await body(.init(connections, cutOff: { faults.cutOff($0) }))
    }
}

@Suite("Transport conformance: in-process", .timeLimit(.minutes(1)))
struct InProcessConformanceTests {
    @Test("InProcessTransport", arguments: TransportConformance.Check.allCases)
    func inProcess(_ check: TransportConformance.Check) async throws {
        try await TransportConformance(InProcessUnderTest()).run(check)
    }

    @Test("FaultInjectingTransport without faults", arguments: TransportConformance.Check.nodeChecks)
    func faultFreeWrapper(_ check: TransportConformance.Check) async throws {
        try await TransportConformance(FaultFreeWrapperUnderTest()).run(check)
    }
}
