public import DistributedImaging
public import GRPCCore
import SwiftProtobuf
import Synchronization

/// Serves any ``DistributedImaging/TaskExecutor`` as `dip.v1.NodeService`: the node side of the
/// server → node `RunTaskBatches` and `RunTasks` streams and the `RunTask` call.
public struct NodeServiceProvider: Dip_V1_NodeService.SimpleServiceProtocol, GracefulShutdownParticipant {
    private let executor: any TaskExecutor
    private let shutdown = ShutdownSignal()

    /// Serves `executor` (for `dip-node`, the `ImagingNode`).
    public init(executor: any TaskExecutor) {
        self.executor = executor
    }

    /// Ends every task stream once the tasks it read are answered, and ends the ones that
    /// open later at once (``GRPCEndpoint`` calls it when it begins its graceful shutdown, which
    /// waits for calls in flight: a stream would otherwise keep it open as long as the server).
    public func beginGracefulShutdown() {
        self.shutdown.signal()
    }

    /// Handles `RunTasks`: runs each task of the stream as it arrives, concurrently, and answers
    /// each with its receipt as it completes (see `services.proto`).
    ///
    /// A request that is out of range (protocol revision, task fields, `run_timeout_ms` outside
    /// 0...604 800 000) is answered with an error for its id; the stream goes on.
    public func runTasks(
        request: RPCAsyncSequence<Dip_V1_RunTasksRequest, any Error>,
        response: RPCWriter<Dip_V1_RunTasksResponse>,
        context: ServerContext
    ) async throws {
        try await self.serveStream(
            request, context: context, requests: { [$0] },
            write: { answers in try await response.write(contentsOf: answers) })
    }

    /// Handles `RunTaskBatches`: `RunTasks` with many requests per message, and the answers that
    /// are ready when the stream's writer gets to them in one message.
    public func runTaskBatches(
        request: RPCAsyncSequence<Dip_V1_RunTasksRequestBatch, any Error>,
        response: RPCWriter<Dip_V1_RunTasksResponseBatch>,
        context: ServerContext
    ) async throws {
        try await self.serveStream(
            request, context: context, requests: { $0.requests },
            write: { answers in try await response.write(.with { $0.responses = answers }) })
    }

    /// A task stream: reads `request`, runs what each message carries (`requests`), and writes
    /// the answers with `write`, as many at once as are ready. A caller that goes away (its
    /// call cancelled) has its tasks cancelled, unless this provider is shutting down.
    private func serveStream<Message: Sendable>(
        _ request: RPCAsyncSequence<Message, any Error>,
        context: ServerContext,
        requests: @escaping @Sendable (Message) -> [Dip_V1_RunTasksRequest],
        write: ([Dip_V1_RunTasksResponse]) async throws -> Void
    ) async throws {
        let answers = MessageOutbox<Dip_V1_RunTasksResponse>()
        let running = RunningTasks(answer: { answers.yield($0) }, allAnswered: { answers.finish() })
        let executor = self.executor
        let shutdown = self.shutdown
        defer { running.cancelAll() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // The caller went away or its deadline passed: stop the tasks (their answers are
                // dropped). Returns too once the handler ended first and this task is cancelled.
                // gRPC cancels calls on a graceful shutdown too: then the tasks read are answered.
                try? await context.cancellation.cancelled
                if !shutdown.isSignalled { running.cancelAll() }
            }
            group.addTask {
                defer { running.endReading() }
                await withTaskGroup(of: Void.self) { reading in
                    reading.addTask {
                        do {
                            for try await message in request {
                                for task in requests(message) { running.handle(task, executor: executor) }
                            }
                        } catch {
                            // The caller's half ended abruptly (its connection dropped): stop
                            // reading; what was read is answered if the caller is still there.
                        }
                    }
                    reading.addTask { await shutdown.wait() }
                    _ = await reading.next()
                    reading.cancelAll()
                }
            }
            while let ready = await answers.next() {
                try await write(ready)
            }
            group.cancelAll()
        }
    }

    /// Handles `RunTask`: the executor's receipt, whatever its status.
    ///
    /// The server's task deadline arrives as `dip-task-timeout-ms` metadata (see
    /// ``TaskDeadlineMetadata``); a value that is not a whole number of milliseconds in
    /// 1…604 800 000 fails the call with `invalidArgument`.
    public func runTask(
        request: ServerRequest<Dip_V1_RunTaskRequest>, context: ServerContext
    ) async throws -> ServerResponse<Dip_V1_RunTaskResponse> {
        var task = try TaskRequest(request.message.task)
        task.runTimeout = try TaskDeadlineMetadata.read(request.metadata)
        return ServerResponse(message: try await self.runTask(request.message, task: task, context: context))
    }

    /// Handles `RunTask` without metadata (no task deadline).
    public func runTask(request: Dip_V1_RunTaskRequest, context: ServerContext) async throws -> Dip_V1_RunTaskResponse {
        try await self.runTask(request, task: try TaskRequest(request.task), context: context)
    }

    private func runTask(_ request: Dip_V1_RunTaskRequest, task: TaskRequest, context: ServerContext) async throws -> Dip_V1_RunTaskResponse {
        try WireProtocol.check(request.protocolVersion, by: "dip-node '\(self.executor.node)'")
        let executor = self.executor
        // The server gave up on the call (deadline, cancelled job): stop waiting for a slot or
        // the delay. Work already on the thread pool completes; its write is atomic. Not when
        // this endpoint shuts down gracefully: the task in flight completes.
        let receipt = try await cancellingWithRPC(context, unlessShuttingDown: self.shutdown) { await executor.execute(task) }
        return .with { $0.receipt = Dip_V1_TaskReceipt(receipt) }
    }
}

/// The server's per-task deadline on the wire: request metadata `dip-task-timeout-ms`, the
/// longest the node may spend on the task once it holds a slot, in whole milliseconds. Absent
/// means no limit (and is what older servers send).
public enum TaskDeadlineMetadata {
    /// The metadata key.
    public static let key = "dip-task-timeout-ms"
    /// The largest value accepted: 7 days.
    public static let maximumMilliseconds: UInt64 = 7 * 86_400_000

    /// Adds `timeout` to `metadata` (nothing for `nil`).
    static func write(_ timeout: Duration?, to metadata: inout Metadata) {
        guard let timeout else { return }
        let milliseconds = max(1, min(Int64(Self.maximumMilliseconds), timeout.components.seconds * 1000
            + timeout.components.attoseconds / 1_000_000_000_000_000))
        metadata.addString(String(milliseconds), forKey: Self.key)
    }

    /// The deadline a `RunTasks` request carries in `run_timeout_ms` (0 for none), checked.
    ///
    /// - Throws: `RPCError` with code `invalidArgument` naming the field and the value.
    static func check(milliseconds value: UInt64) throws(RPCError) -> Duration? {
        guard value != 0 else { return nil }
        guard value <= Self.maximumMilliseconds else {
            throw RPCError(
                code: .invalidArgument,
                message: "run_timeout_ms must be 0 or a whole number of milliseconds in 1...\(Self.maximumMilliseconds), not \(value)")
        }
        return .milliseconds(Int64(value))
    }

    /// `timeout` as `run_timeout_ms` (0 for `nil`).
    static func milliseconds(_ timeout: Duration?) -> UInt64 {
        guard let timeout else { return 0 }
        return UInt64(max(1, min(Int64(Self.maximumMilliseconds), timeout.components.seconds * 1000
            + timeout.components.attoseconds / 1_000_000_000_000_000)))
    }

    /// The deadline in `metadata`, checked.
    ///
    /// - Throws: `RPCError` with code `invalidArgument` naming the key and the value.
    static func read(_ metadata: Metadata) throws -> Duration? {
        guard let text = metadata[stringValues: Self.key].first(where: { _ in true }) else { return nil }
        guard let value = UInt64(text), (1...Self.maximumMilliseconds).contains(value) else {
            let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
            throw RPCError(
                code: .invalidArgument,
                message: "\(Self.key) must be a whole number of milliseconds in 1...\(Self.maximumMilliseconds), not '\(shown)'")
        }
        return .milliseconds(Int64(value))
    }
}

/// The tasks of one task stream: each runs in its own task, so that a cancel request stops just
/// that one. Each answer goes to `answer`; `allAnswered` is called once, after the last answer,
/// when reading ended and every task read was answered. Shared by the gRPC task streams
/// (``NodeServiceProvider``) and the task port (``TaskPortListener``).
final class RunningTasks: Sendable {
    private struct State {
        var tasks: [UInt64: Task<Void, Never>] = [:]
        var readingEnded = false
    }
    private let state = Mutex(State())
    private let answer: @Sendable (Dip_V1_RunTasksResponse) -> Void
    private let allAnswered: @Sendable () -> Void

    init(answer: @escaping @Sendable (Dip_V1_RunTasksResponse) -> Void, allAnswered: @escaping @Sendable () -> Void) {
        self.answer = answer
        self.allAnswered = allAnswered
    }

    /// Runs the task `message` carries (checked first: a bad request is answered with an error
    /// for its id), or cancels the one it names.
    func handle(_ message: Dip_V1_RunTasksRequest, executor: any TaskExecutor) {
        let id = message.id
        if message.cancel {
            self.state.withLock { $0.tasks[id] }?.cancel()
            return
        }
        let task: TaskRequest
        do throws(RPCError) {
            try WireProtocol.check(message.protocolVersion, by: "dip-node '\(executor.node)'")
            var request = try TaskRequest(message.task)
            request.runTimeout = try TaskDeadlineMetadata.check(milliseconds: message.runTimeoutMs)
            task = request
        } catch {
            self.answer(.failure(id: id, error))
            return
        }
        let duplicate = self.state.withLock { state -> Bool in
            guard state.tasks[id] == nil else { return true }
            state.tasks[id] = Task {
                let receipt = await executor.execute(task)
                self.answer(.with {
                    $0.id = id
                    $0.receipt = Dip_V1_TaskReceipt(receipt)
                })
                self.finished(id)
            }
            return false
        }
        if duplicate {
            self.answer(
                .failure(id: id, RPCError(code: .invalidArgument, message: "task stream: task id \(id) is already running on this stream")))
        }
    }

    private func finished(_ id: UInt64) {
        let done = self.state.withLock { state -> Bool in
            state.tasks.removeValue(forKey: id)
            return state.readingEnded && state.tasks.isEmpty
        }
        if done { self.allAnswered() }
    }

    /// No more requests: `allAnswered` follows once the tasks running are answered (at once
    /// when none is). Call it once.
    func endReading() {
        let done = self.state.withLock { state -> Bool in
            state.readingEnded = true
            return state.tasks.isEmpty
        }
        if done { self.allAnswered() }
    }

    func cancelAll() {
        for task in self.state.withLock({ Array($0.tasks.values) }) { task.cancel() }
    }
}

extension Dip_V1_RunTasksResponse {
    static func failure(id: UInt64, _ error: RPCError) -> Self {
        .with {
            $0.id = id
            $0.errorCode = UInt32(clamping: error.code.rawValue)
            $0.errorMessage = error.message
            $0.dipErrorCode = error.metadata[stringValues: ErrorMetadata.codeKey].first(where: { _ in true }) ?? ""
        }
    }
}

/// Something that ends long-lived calls when its ``GRPCEndpoint`` begins a graceful shutdown.
protocol GracefulShutdownParticipant: Sendable {
    func beginGracefulShutdown()
}
