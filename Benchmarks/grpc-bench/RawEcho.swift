// The floor under our network path: the same `RunTasks` stream, carrying only an id each way,
// with grpc-swift's generated code and nothing of ours around it — no task conversion, no task
// spawned per message, no queue between the caller and the writer. `--raw` on both halves.
import DistributedImagingGRPC
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import NIOPosix
import Synchronization

/// What the request producer measured, for the response handler to return.
private final class Recorded: Sendable {
    let result = Mutex<(latencies: [Double], perSecond: Double)>(([], 0))
}

/// Answers each `RunTasks` message with its id, in the handler's own loop.
struct EchoNodeService: Dip_V1_NodeService.SimpleServiceProtocol {
    func runTask(request: Dip_V1_RunTaskRequest, context: ServerContext) async throws -> Dip_V1_RunTaskResponse {
        throw RPCError(code: .unimplemented, message: "raw echo: RunTasks only")
    }

    func runTasks(
        request: RPCAsyncSequence<Dip_V1_RunTasksRequest, any Error>,
        response: RPCWriter<Dip_V1_RunTasksResponse>,
        context: ServerContext
    ) async throws {
        for try await message in request {
            try await response.write(.with { $0.id = message.id })
        }
    }

    func runTaskBatches(
        request: RPCAsyncSequence<Dip_V1_RunTasksRequestBatch, any Error>,
        response: RPCWriter<Dip_V1_RunTasksResponseBatch>,
        context: ServerContext
    ) async throws {
        throw RPCError(code: .unimplemented, message: "raw echo: RunTasks only")
    }
}

/// Sequential ping-pong of `count` ids on one stream (microseconds per round trip, sorted), then
/// `count` ids with up to `window` unanswered (messages per second); the connection runs on `group`.
func rawPingPong(host: String, port: Int, count: Int, window: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> (latencies: [Double], perSecond: Double) {
    let client = GRPCClient(transport: try .http2NIOPosix(target: .ipv4(address: host, port: port), transportSecurity: .plaintext, eventLoopGroup: group))
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await client.runConnections() }
        defer { client.beginGracefulShutdown() }
        let (acks, ack) = AsyncStream.makeStream(of: Void.self)
        let node = Dip_V1_NodeService.Client(wrapping: client)
        let recorded = Recorded()
        try await node.runTasks(
            requestProducer: { writer in
                var iterator = acks.makeAsyncIterator()
                let clock = ContinuousClock()
                var latencies: [Double] = []
                for id in 0..<(count + 50) {
                    let start = clock.now
                    try await writer.write(.with { $0.id = UInt64(id) })
                    guard await iterator.next() != nil else { return }
                    if id >= 50 { latencies.append(microseconds(clock.now - start)) }
                }
                let start = clock.now
                var unanswered = 0
                for id in 0..<count {
                    if unanswered == window {
                        guard await iterator.next() != nil else { return }
                        unanswered -= 1
                    }
                    try await writer.write(.with { $0.id = UInt64(id) })
                    unanswered += 1
                }
                while unanswered > 0, await iterator.next() != nil { unanswered -= 1 }
                let perSecond = Double(count) / (microseconds(clock.now - start) / 1e6)
                recorded.result.withLock { $0 = (latencies.sorted(), perSecond) }
            },
            onResponse: { response in
                for try await _ in response.messages { ack.yield() }
                ack.finish()
            })
        return recorded.result.withLock { $0 }
    }
}

// --pinned: the same floor with every handler, reader and writer on the one event loop its
// connection lives on (a one-thread group, and a task executor preference for that loop that
// grpc-swift's child tasks inherit), so no message changes threads inside a process.

/// Runs jobs on one event loop: tasks that prefer it resume on the thread their channel lives on.
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop
    init(_ loop: any EventLoop) { self.loop = loop }
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

let pinnedGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let pinnedExecutor = EventLoopTaskExecutor(pinnedGroup.next())

func pinnedServe(port: Int) async throws {
    let server = GRPCServer(
        transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: port), transportSecurity: .plaintext, eventLoopGroup: pinnedGroup),
        services: [EchoNodeService()])
    try await withTaskExecutorPreference(pinnedExecutor) {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            if let address = try await server.listeningAddress?.ipv4 {
                print("dip-grpc-bench: listening on \(address.host):\(address.port)")
                fflush(nil)
            }
            try await group.next()
        }
    }
}

func pinnedPingPong(host: String, port: Int, count: Int, window: Int) async throws -> (latencies: [Double], perSecond: Double) {
    try await withTaskExecutorPreference(pinnedExecutor) {
        try await rawPingPong(host: host, port: port, count: count, window: window, group: pinnedGroup)
    }
}
