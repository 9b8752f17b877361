import DistributedImaging
@testable import DistributedImagingGRPC
import GRPCCore
import GRPCNIOTransportHTTP2
import Synchronization
import Testing

/// The long-lived task stream between a server and a node (`RunTaskBatches`, else `RunTasks`):
/// one stream for many tasks, the fallbacks for an older node, cancellation of one task, and the
/// ways a stream ends.
@Suite("Task stream", .timeLimit(.minutes(1)))
struct TaskStreamTests {
    static func task(_ index: Int, input: String = "photos/a.png") -> TaskRequest {
        TaskRequest(
            jobID: JobID("job-1"), taskIndex: index, inputPath: input, outputPath: "out/\(index).png", pipeline: "grayscale")
    }

    /// Runs `body` with a connection to a node serving `services`.
    func withConnection<Result: Sendable>(
        to services: [any RegistrableRPCService], streaming: Bool = true,
        _ body: @Sendable (GRPCNodeConnection, GRPCEndpoint) async throws -> Result
    ) async throws -> Result {
        let endpoint = GRPCEndpoint(listen: PeerAddress(host: "127.0.0.1", port: 0), services: services)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await endpoint.run() }
            defer { endpoint.beginGracefulShutdown() }
            let connection = try GRPCNodeConnection(
                node: NodeID("node"), address: try await endpoint.listeningAddress, streaming: streaming)
            group.addTask { try await connection.runConnections() }
            defer { connection.close() }
            let result = try await body(connection, endpoint)
            connection.close()
            endpoint.beginGracefulShutdown()
            try await group.waitForAll()
            return result
        }
    }

    @Test("Many tasks, sequential and concurrent, travel on one RunTaskBatches stream; no unary calls")
    func oneStream() async throws {
        let node = CountingNode(mode: .answer)
        try await self.withConnection(to: [node]) { connection, _ in
            for index in 0..<20 {
                let receipt = try await connection.run(Self.task(index))
                #expect(receipt.status == .succeeded)
                #expect(receipt.taskIndex == index)
            }
            try await withThrowingTaskGroup(of: TaskReceipt.self) { group in
                for index in 20..<60 { group.addTask { try await connection.run(Self.task(index)) } }
                var indices: Set<Int> = []
                for try await receipt in group { indices.insert(receipt.taskIndex) }
                #expect(indices == Set(20..<60))
            }
        }
        #expect(node.counts.batchStreams == 1)
        #expect(node.counts.streams == 0)
        #expect(node.counts.streamTasks == 60)
        #expect(node.counts.unaryCalls == 0)
        #expect(node.counts.largestBatch >= 1 && node.counts.largestBatch <= 64)
    }

    @Test("A node without RunTaskBatches (an older release) gets the RunTasks stream; the task that found out is not lost")
    func olderNode() async throws {
        let node = CountingNode(mode: .noBatches)
        try await self.withConnection(to: [node]) { connection, _ in
            for index in 0..<3 {
                let receipt = try await connection.run(Self.task(index))
                #expect(receipt.status == .succeeded)
                #expect(receipt.taskIndex == index)
            }
        }
        #expect(node.counts.batchStreams == 1)
        #expect(node.counts.streams == 1)
        #expect(node.counts.streamTasks == 3)
        #expect(node.counts.unaryCalls == 0)
    }

    @Test("A node without either stream gets unary RunTask calls")
    func fallback() async throws {
        let node = CountingNode(mode: .unimplemented)
        try await self.withConnection(to: [node]) { connection, _ in
            for index in 0..<3 {
                let receipt = try await connection.run(Self.task(index))
                #expect(receipt.status == .succeeded)
            }
        }
        #expect(node.counts.batchStreams == 1)
        #expect(node.counts.streams == 1)
        #expect(node.counts.unaryCalls == 3)
    }

    @Test("With streaming off, every task is a unary call")
    func unaryOnly() async throws {
        let node = CountingNode(mode: .answer)
        try await self.withConnection(to: [node], streaming: false) { connection, _ in
            _ = try await connection.run(Self.task(0))
            _ = try await connection.run(Self.task(1))
        }
        #expect(node.counts.batchStreams == 0)
        #expect(node.counts.streams == 0)
        #expect(node.counts.unaryCalls == 2)
    }

    @Test("A stream that ends before answering fails its tasks `unavailable`; the next task opens a new stream")
    func streamEndsEarly() async throws {
        let node = CountingNode(mode: .endAfterReadingOne)
        try await self.withConnection(to: [node]) { connection, _ in
            let error = await #expect(throws: DistributedImagingError.self) {
                _ = try await connection.run(Self.task(0))
            }
            #expect(error?.code == .unavailable)
            _ = await #expect(throws: DistributedImagingError.self) {
                _ = try await connection.run(Self.task(1))
            }
        }
        #expect(node.counts.batchStreams == 2)
        #expect(node.counts.streamTasks == 2)
    }

    @Test("Cancelling the caller cancels that task on the node, and only that one")
    func cancelOne() async throws {
        let executor = BlockingExecutor()
        try await self.withConnection(to: [NodeServiceProvider(executor: executor)]) { connection, _ in
            let blocked = Task { try await connection.run(Self.task(0, input: "photos/block.png")) }
            try await executor.waitUntil { $0.started == 1 }
            let other = try await connection.run(Self.task(1))
            #expect(other.status == .succeeded)
            blocked.cancel()
            await #expect(throws: CancellationError.self) { _ = try await blocked.value }
            try await executor.waitUntil { $0.cancelled == 1 }
            // Each task ran once; the cancel reached only the blocked one.
            #expect(executor.state.withLock { $0.started } == 2)
        }
    }

    @Test(
        "A node's graceful shutdown answers the tasks in flight (gRPC cancels its calls: not them), then ends an open stream",
        arguments: [true, false])
    func nodeShutdown(streaming: Bool) async throws {
        let executor = BlockingExecutor()
        let endpoint = GRPCEndpoint(
            listen: PeerAddress(host: "127.0.0.1", port: 0), services: [NodeServiceProvider(executor: executor)])
        let (stopped, endpointStopped) = AsyncStream.makeStream(of: Void.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { endpointStopped.finish() }
                try await endpoint.run()
            }
            let connection = try GRPCNodeConnection(
                node: NodeID("node"), address: try await endpoint.listeningAddress, streaming: streaming)
            group.addTask { try await connection.runConnections() }
            defer { connection.close() }
            _ = try await connection.run(Self.task(0))  // the stream (or, unary, the connection) is open
            let slow = Task { try await connection.run(Self.task(1, input: "photos/block.png")) }
            try await executor.waitUntil { $0.started == 2 }
            endpoint.beginGracefulShutdown()
            // gRPC's quiescing cancels the calls in flight; it once reached the task (a CI run
            // failed so). Give it a second to show, then expect it did not.
            let deadline = ContinuousClock.now + .seconds(1)
            while ContinuousClock.now < deadline, executor.state.withLock({ $0.cancelled }) == 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(executor.state.withLock { $0.cancelled } == 0, "the graceful shutdown cancelled the task in flight")
            // The task in flight is still answered …
            executor.release()
            let receipt = try await slow.value
            #expect(receipt.status == .succeeded)
            // … and then the endpoint stops, although the server side never closed the stream
            // (a hang here ends at the suite's time limit).
            for await _ in stopped {}
            connection.close()
            try await group.waitForAll()
        }
    }

    @Test(
        "A request out of range is answered with an error naming the field; the stream goes on",
        arguments: [
            (UInt64(604_800_001), "run_timeout_ms must be 0 or a whole number of milliseconds in 1...604800000, not 604800001"),
            (UInt64.max, "run_timeout_ms must be 0 or a whole number of milliseconds in 1...604800000, not 18446744073709551615"),
        ])
    func outOfRange(timeout: UInt64, expected: String) async throws {
        let executor = FakeExecutor()
        try await withEndpoint([NodeServiceProvider(executor: executor)]) { address in
            try await withGRPCClient(
                transport: try HTTP2ClientTransport.Posix(target: address.target, transportSecurity: .plaintext)
            ) { client in
                let answers = try await Dip_V1_NodeService.Client(wrapping: client).runTasks(
                    requestProducer: { writer in
                        try await writer.write(
                            .with {
                                $0.protocolVersion = WireProtocol.wireValue
                                $0.id = 7
                                $0.task = Dip_V1_TaskRequest(Self.task(0))
                                $0.runTimeoutMs = timeout
                            })
                        try await writer.write(
                            .with {
                                $0.protocolVersion = WireProtocol.wireValue
                                $0.id = 8
                                $0.task = Dip_V1_TaskRequest(Self.task(1))
                            })
                    },
                    onResponse: { response in
                        var answers: [UInt64: Dip_V1_RunTasksResponse] = [:]
                        for try await message in response.messages { answers[message.id] = message }
                        return answers
                    })
                #expect(answers[7]?.errorCode == UInt32(RPCError.Code.invalidArgument.rawValue))
                #expect(answers[7]?.errorMessage == expected)
                #expect(answers[8]?.errorCode == 0)
                #expect(answers[8]?.receipt.status == .succeeded)
            }
        }
        #expect(executor.calls.withLock { $0.count } == 1)
    }

    @Test("A RunTaskBatches message is read request by request: each is answered for its id, bad ones with their error")
    func batchOnNode() async throws {
        let executor = FakeExecutor()
        try await withEndpoint([NodeServiceProvider(executor: executor)]) { address in
            try await withGRPCClient(
                transport: try HTTP2ClientTransport.Posix(target: address.target, transportSecurity: .plaintext)
            ) { client in
                let answers = try await Dip_V1_NodeService.Client(wrapping: client).runTaskBatches(
                    requestProducer: { writer in
                        try await writer.write(
                            .with {
                                $0.requests = [
                                    .with {
                                        $0.protocolVersion = WireProtocol.wireValue
                                        $0.id = 1
                                        $0.task = Dip_V1_TaskRequest(Self.task(0))
                                    },
                                    .with {
                                        $0.protocolVersion = WireProtocol.wireValue
                                        $0.id = 2
                                        $0.task = Dip_V1_TaskRequest(Self.task(1))
                                        $0.runTimeoutMs = UInt64.max
                                    },
                                    .with {
                                        $0.protocolVersion = Dip_V1_ProtocolVersion(rawValue: 99) ?? .unspecified
                                        $0.id = 3
                                        $0.task = Dip_V1_TaskRequest(Self.task(2))
                                    },
                                ]
                            })
                        try await writer.write(
                            .with {
                                $0.requests = [
                                    .with {
                                        $0.protocolVersion = WireProtocol.wireValue
                                        $0.id = 4
                                        $0.task = Dip_V1_TaskRequest(Self.task(3))
                                    }
                                ]
                            })
                    },
                    onResponse: { response in
                        var answers: [UInt64: Dip_V1_RunTasksResponse] = [:]
                        for try await message in response.messages {
                            for answer in message.responses {
                                #expect(answers[answer.id] == nil, "answered twice: \(answer.id)")
                                answers[answer.id] = answer
                            }
                        }
                        return answers
                    })
                #expect(answers.count == 4)
                #expect(answers[1]?.errorCode == 0)
                #expect(answers[1]?.receipt.taskIndex == 0)
                #expect(answers[2]?.errorCode == UInt32(RPCError.Code.invalidArgument.rawValue))
                #expect(answers[2]?.errorMessage.contains("run_timeout_ms") == true)
                #expect(answers[3]?.errorCode == UInt32(RPCError.Code.failedPrecondition.rawValue))
                #expect(answers[3]?.dipErrorCode == "invalidConfiguration")
                #expect(answers[4]?.errorCode == 0)
                #expect(answers[4]?.receipt.taskIndex == 3)
            }
        }
        #expect(executor.calls.withLock { $0.count } == 2)
    }

    @Test("Another protocol revision on the stream fails the task `invalidConfiguration`")
    func versionMismatch() async throws {
        try await withEndpoint([NodeServiceProvider(executor: FakeExecutor())]) { address in
            try await withGRPCClient(
                transport: try HTTP2ClientTransport.Posix(target: address.target, transportSecurity: .plaintext)
            ) { client in
                let answer = try await Dip_V1_NodeService.Client(wrapping: client).runTasks(
                    requestProducer: { writer in
                        try await writer.write(
                            .with {
                                $0.protocolVersion = Dip_V1_ProtocolVersion(rawValue: 99) ?? .unspecified
                                $0.id = 1
                                $0.task = Dip_V1_TaskRequest(Self.task(0))
                            })
                    },
                    onResponse: { response in
                        var answers: [Dip_V1_RunTasksResponse] = []
                        for try await message in response.messages { answers.append(message) }
                        return answers
                    })
                #expect(answer.count == 1)
                #expect(answer.first?.errorCode == UInt32(RPCError.Code.failedPrecondition.rawValue))
                #expect(answer.first?.dipErrorCode == "invalidConfiguration")
                #expect(answer.first?.errorMessage.contains("protocol version mismatch") == true)
            }
        }
    }
}

/// A node service that counts streams of each kind, streamed tasks and unary calls.
final class CountingNode: Dip_V1_NodeService.SimpleServiceProtocol {
    enum Mode {
        case answer
        /// Serves neither stream.
        case unimplemented
        /// Serves `RunTasks` but not `RunTaskBatches`, as releases before it did.
        case noBatches
        case endAfterReadingOne
    }
    struct Counts { var batchStreams = 0, streams = 0, streamTasks = 0, unaryCalls = 0, largestBatch = 0 }
    let mode: Mode
    private let state = Mutex(Counts())
    var counts: Counts { self.state.withLock { $0 } }

    init(mode: Mode) { self.mode = mode }

    private static func receipt(for task: Dip_V1_TaskRequest) -> Dip_V1_TaskReceipt {
        .with {
            $0.jobID = task.jobID
            $0.taskIndex = task.taskIndex
            $0.attempt = task.attempt
            $0.status = .succeeded
            $0.node = "node"
        }
    }

    func runTask(request: Dip_V1_RunTaskRequest, context: ServerContext) async throws -> Dip_V1_RunTaskResponse {
        self.state.withLock { $0.unaryCalls += 1 }
        return .with { $0.receipt = Self.receipt(for: request.task) }
    }

    func runTasks(
        request: RPCAsyncSequence<Dip_V1_RunTasksRequest, any Error>, response: RPCWriter<Dip_V1_RunTasksResponse>,
        context: ServerContext
    ) async throws {
        self.state.withLock { $0.streams += 1 }
        if self.mode == .unimplemented { throw RPCError(code: .unimplemented, message: "no RunTasks here") }
        for try await message in request where !message.cancel {
            self.state.withLock { $0.streamTasks += 1 }
            if self.mode == .endAfterReadingOne { return }
            try await response.write(
                .with {
                    $0.id = message.id
                    $0.receipt = Self.receipt(for: message.task)
                })
        }
    }

    func runTaskBatches(
        request: RPCAsyncSequence<Dip_V1_RunTasksRequestBatch, any Error>, response: RPCWriter<Dip_V1_RunTasksResponseBatch>,
        context: ServerContext
    ) async throws {
        self.state.withLock { $0.batchStreams += 1 }
        if self.mode == .unimplemented || self.mode == .noBatches {
            throw RPCError(code: .unimplemented, message: "no RunTaskBatches here")
        }
        for try await batch in request {
            self.state.withLock { $0.largestBatch = max($0.largestBatch, batch.requests.count) }
            var answers: [Dip_V1_RunTasksResponse] = []
            for message in batch.requests where !message.cancel {
                self.state.withLock { $0.streamTasks += 1 }
                if self.mode == .endAfterReadingOne { return }
                answers.append(
                    .with {
                        $0.id = message.id
                        $0.receipt = Self.receipt(for: message.task)
                    })
            }
            if !answers.isEmpty { try await response.write(.with { $0.responses = answers }) }
        }
    }
}

/// An executor that holds tasks whose input contains "block" until released or cancelled.
final class BlockingExecutor: TaskExecutor {
    struct State {
        var started = 0
        var cancelled = 0
        var released = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    let node = NodeID("node")
    let state = Mutex(State())

    func execute(_ task: TaskRequest) async -> TaskReceipt {
        self.state.withLock { $0.started += 1 }
        if task.inputPath.contains("block") {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let now = self.state.withLock { state -> Bool in
                        if state.released || Task.isCancelled { return true }
                        state.waiters.append(continuation)
                        return false
                    }
                    if now { continuation.resume() }
                }
            } onCancel: {
                let waiters = self.state.withLock { state in
                    defer { state.waiters.removeAll() }
                    return state.waiters
                }
                for waiter in waiters { waiter.resume() }
            }
            if Task.isCancelled {
                self.state.withLock { $0.cancelled += 1 }
                return TaskReceipt(for: task, status: .rejected, node: self.node, error: "cancelled")
            }
        }
        return TaskReceipt(for: task, status: .succeeded, node: self.node)
    }

    func release() {
        let waiters = self.state.withLock { state in
            state.released = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Polls until `condition` holds, for at most 10 s.
    func waitUntil(_ condition: (State) -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !self.state.withLock({ condition($0) }) {
            try #require(ContinuousClock.now < deadline, "condition not reached")
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
