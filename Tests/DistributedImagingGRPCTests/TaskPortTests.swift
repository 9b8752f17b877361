import DistributedImaging
@testable import DistributedImagingGRPC
import GRPCCore
import Logging
import NIOCore
import NIOPosix
import Testing

/// The task port: the task stream without HTTP/2, and the fall back to `RunTaskBatches` when the
/// port cannot be used. (The conformance kit runs over task ports in `TransportConformanceTests`.)
@Suite("Task port", .timeLimit(.minutes(1)))
struct TaskPortTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func task(_ index: Int) -> TaskRequest {
        TaskRequest(
            jobID: JobID("job"), taskIndex: index, inputPath: "photos/\(index).png", outputPath: "out/\(index).png",
            pipeline: "grayscale")
    }

    /// Runs `body` with a connection to a node whose `NodeService` is `service`, and whose task
    /// port (`taskPort` given) is a real ``TaskPortListener`` for `executor`, or `taskAddress`.
    func withNode<Result: Sendable>(
        service: CountingNode, executor: any TaskExecutor, taskPort: Bool, taskAddress: PeerAddress? = nil,
        _ body: (GRPCNodeConnection, TaskPortListener?) async throws -> Result
    ) async throws -> Result {
        try await withEndpoint([service]) { address in
            let listener = taskPort ? TaskPortListener(listen: PeerAddress(host: "127.0.0.1", port: 0), executor: executor, logger: self.logger) : nil
            return try await withThrowingTaskGroup(of: Void.self) { group in
                if let listener { group.addTask { try await listener.run() } }
                defer { listener?.beginGracefulShutdown() }
                let port = await listener?.listeningAddress
                let connection = try GRPCNodeConnection(node: NodeID("node"), address: address, taskAddress: taskAddress ?? port)
                group.addTask { try await connection.runConnections() }
                defer { connection.close() }
                let result = try await body(connection, listener)
                connection.close()
                listener?.beginGracefulShutdown()
                try await group.waitForAll()
                return result
            }
        }
    }

    @Test("Tasks travel over the task port, on one long-lived stream, and never reach RunTaskBatches")
    func overTheTaskPort() async throws {
        let service = CountingNode(mode: .answer)
        let executor = FakeExecutor(node: NodeID("node"))
        let served = try await self.withNode(service: service, executor: executor, taskPort: true) { connection, listener in
            for index in 0..<10 {
                let receipt = try await connection.run(Self.task(index))
                #expect(receipt.status == .succeeded && receipt.taskIndex == index)
            }
            try await withThrowingTaskGroup(of: TaskReceipt.self) { group in
                for index in 10..<60 { group.addTask { try await connection.run(Self.task(index)) } }
                var indices: Set<Int> = []
                for try await receipt in group { indices.insert(receipt.taskIndex) }
                #expect(indices == Set(10..<60))
            }
            return listener?.streamsServed
        }
        #expect(served == 1)
        #expect(executor.calls.withLock { $0.count } == 60)
        #expect(service.counts.batchStreams == 0 && service.counts.unaryCalls == 0)
    }

    @Test("A task port nothing listens on: the tasks go on RunTaskBatches, none fails")
    func unreachablePort() async throws {
        let closed = try await withEndpoint([]) { $0 }
        let service = CountingNode(mode: .answer)
        try await self.withNode(service: service, executor: FakeExecutor(), taskPort: false, taskAddress: closed) { connection, _ in
            for index in 0..<5 {
                let receipt = try await connection.run(Self.task(index))
                #expect(receipt.status == .succeeded && receipt.taskIndex == index)
            }
        }
        #expect(service.counts.batchStreams == 1)
        #expect(service.counts.streamTasks == 5)
    }

    @Test("A task address where another service listens (here gRPC): the tasks go on RunTaskBatches")
    func anotherService() async throws {
        let service = CountingNode(mode: .answer)
        try await withEndpoint([CountingNode(mode: .answer)]) { other in
            try await self.withNode(service: service, executor: FakeExecutor(), taskPort: false, taskAddress: other) { connection, _ in
                let receipts = try await withThrowingTaskGroup(of: TaskReceipt.self) { group in
                    for index in 0..<5 { group.addTask { try await connection.run(Self.task(index)) } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(receipts.count == 5 && receipts.allSatisfy { $0.status == .succeeded })
            }
        }
        #expect(service.counts.batchStreams == 1)
        #expect(service.counts.streamTasks == 5)
    }

    @Test("A node shutting down answers the task it was running on its task port")
    func gracefulShutdown() async throws {
        let executor = BlockingExecutor()
        let service = CountingNode(mode: .answer)
        try await self.withNode(service: service, executor: executor, taskPort: true) { connection, listener in
            let blocked = Task { try await connection.run(Self.task(0).withInput("block/0.png")) }
            try await executor.waitUntil { $0.started == 1 }
            listener?.beginGracefulShutdown()
            executor.release()
            let receipt = try await blocked.value
            #expect(receipt.status == .succeeded)
            #expect(listener?.streamsServed == 1)
        }
    }

    /// Runs `body` with a raw connection to a real task port for `executor` (inbound split into
    /// frames when `framed`), then stops the listener.
    func withRawConnection<Result: Sendable>(
        to executor: any TaskExecutor, framed: Bool,
        _ body: (NIOAsyncChannelInboundStream<ByteBuffer>, NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws -> Result
    ) async throws -> Result {
        let listener = TaskPortListener(listen: PeerAddress(host: "127.0.0.1", port: 0), executor: executor, logger: self.logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.run() }
            defer { listener.beginGracefulShutdown() }
            let address = try #require(await listener.listeningAddress)
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: address.host, port: address.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        framed
                            ? try TaskPortFraming.asyncChannel(channel, halfClosure: false)
                            : try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            let result = try await channel.executeThenClose { try await body($0, $1) }
            listener.beginGracefulShutdown()
            try await group.waitForAll()
            return result
        }
    }

    @Test("A message that is not a request batch ends reading: the tasks read before it are answered, then the node closes")
    func undecodableMessage() async throws {
        func batch(_ ids: ClosedRange<UInt64>) throws -> ByteBuffer {
            try TaskPortFraming.frame(
                Dip_V1_RunTasksRequestBatch.with { batch in
                    batch.requests = ids.map { id in
                        .with {
                            $0.protocolVersion = WireProtocol.wireValue
                            $0.id = id
                            $0.task = Dip_V1_TaskRequest(Self.task(Int(id)))
                        }
                    }
                }, allocator: ByteBufferAllocator())
        }
        let executor = FakeExecutor()
        let answered = try await self.withRawConnection(to: executor, framed: true) { inbound, outbound in
            var bytes = try batch(1...3)
            bytes.writeInteger(UInt32(3))
            bytes.writeBytes([0xFF, 0xFF, 0xFF])  // a truncated varint: not a message
            var after = try batch(4...4)
            bytes.writeBuffer(&after)
            try await outbound.write(bytes)  // all in one write: the node reads them together
            var ids: [UInt64] = []
            for try await frame in inbound {
                ids += try TaskPortFraming.decode(Dip_V1_RunTasksResponseBatch.self, from: frame).responses.map(\.id)
            }
            return ids.sorted()
        }
        // The connection ended without this side closing: the node closed it.
        #expect(answered == [1, 2, 3])
        #expect(executor.calls.withLock { $0.map(\.taskIndex).sorted() } == [1, 2, 3])
    }

    @Test("A frame longer than 4 MiB closes the connection before its bytes are read")
    func frameTooLong() async throws {
        let closed = try await self.withRawConnection(to: FakeExecutor(), framed: false) { inbound, outbound in
            var header = ByteBuffer()
            header.writeInteger(UInt32(TaskPortFraming.maximumLength + 1))
            try await outbound.write(header)
            for try await _ in inbound {}
            return true
        }
        #expect(closed)
    }
}

extension TaskRequest {
    func withInput(_ path: String) -> TaskRequest {
        var copy = self
        copy.inputPath = path
        return copy
    }
}
