import Testing

@testable import DistributedImaging

/// What every transport must do, run here against ``InProcessTransport``; the gRPC transport
/// should run the same checks through its own `connection(to:)`.
@Suite("Transport conformance: InProcessTransport")
struct TransportConformanceTests {
    /// Answers `succeeded` for even task indices, `rejected` for odd ones, echoing the request.
    struct EchoExecutor: TaskExecutor {
        let node: NodeID
        func execute(_ task: TaskRequest) async -> TaskReceipt {
            TaskReceipt(
                for: task, status: task.taskIndex.isMultiple(of: 2) ? .succeeded : .rejected, node: self.node, elapsed: 0.25,
                delayed: true, error: task.taskIndex.isMultiple(of: 2) ? nil : "odd")
        }
    }

    func request(_ index: Int) -> TaskRequest {
        TaskRequest(
            jobID: JobID("job-1"), taskIndex: index, inputPath: "in/a b/ü.png", outputPath: "out/ü.jpg", pipeline: "invert",
            outputFormat: .jpeg(quality: 80), attempt: 3)
    }

    @Test("A task and its receipt cross unchanged, rejections included")
    func roundTrip() async throws {
        let transport = InProcessTransport()
        transport.register(EchoExecutor(node: NodeID("n1")))
        let connection = transport.connection(to: NodeID("n1"))
        #expect(connection.node == NodeID("n1"))
        let accepted = try await connection.run(self.request(4))
        #expect(accepted == TaskReceipt(for: self.request(4), status: .succeeded, node: NodeID("n1"), elapsed: 0.25, delayed: true))
        let rejected = try await connection.run(self.request(5))
        #expect(rejected.status == .rejected)
        #expect(rejected.error == "odd")
        #expect(rejected.attempt == 3)
    }

    @Test("An unknown or removed node throws unavailable")
    func unreachable() async throws {
        let transport = InProcessTransport()
        transport.register(EchoExecutor(node: NodeID("n1")))
        let connection = transport.connection(to: NodeID("n1"))
        transport.unregister(NodeID("n1"))
        let error = await #expect(throws: DistributedImagingError.self) { try await connection.run(self.request(0)) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("n1") == true)
        await #expect(throws: DistributedImagingError.self) { try await transport.connection(to: NodeID("x")).run(self.request(0)) }
    }

    @Test("Many concurrent calls are all answered")
    func concurrentCalls() async throws {
        let transport = InProcessTransport()
        transport.register(EchoExecutor(node: NodeID("n1")))
        transport.register(EchoExecutor(node: NodeID("n2")))
        #expect(transport.connections().map(\.node) == [NodeID("n1"), NodeID("n2")])
        let answered = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<1000 {
                let connection = transport.connections()[index % 2]
                group.addTask { try await connection.run(self.request(index)).taskIndex }
            }
            return try await group.reduce(into: Set<Int>()) { $0.insert($1) }
        }
        #expect(answered == Set(0..<1000))
    }
}
