// The floor under the task port (`--lean`, both halves): the raw floor's exchange — a
// `RunTasksRequest` carrying an id, answered by a `RunTasksResponse` with the same id,
// serialized with SwiftProtobuf — over a plain NIO TCP connection, each message a 4-byte
// big-endian length and its bytes (the task port's framing). The node half answers in its
// channel handler on the event loop; the caller half reads and writes from Swift Concurrency
// through `NIOAsyncChannel`, as a server's dispatch code would. Nothing of ours around it: no
// task conversion, no task spawned per message, no queue of answers.
import DistributedImagingGRPC
import NIOCore
import NIOPosix
import SwiftProtobuf

#if canImport(Glibc)
import Glibc
#endif

enum LeanEchoError: Error {
    case closedEarly
    case wrongID(expected: UInt64, got: UInt64)
}

/// Answers each request with its id, on the event loop; flushes once per read burst.
final class LeanEchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        do {
            let request = try TaskPortFraming.decode(Dip_V1_RunTasksRequest.self, from: frame)
            let answer = try TaskPortFraming.frame(Dip_V1_RunTasksResponse.with { $0.id = request.id }, allocator: context.channel.allocator)
            context.write(Self.wrapOutboundOut(answer), promise: nil)
        } catch {
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}

/// Serves the lean echo on 127.0.0.1:`port` until killed; prints "listening on ADDRESS".
func leanServe(port: Int) async throws {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TaskPortFrameDecoder()))
                try channel.pipeline.syncOperations.addHandler(LeanEchoHandler())
            }
        }
        .bind(host: "127.0.0.1", port: port)
        .get()
    print("dip-grpc-bench: listening on 127.0.0.1:\(channel.localAddress?.port ?? port)")
    fflush(nil)
    try await channel.closeFuture.get()
}

/// As `rawPingPong`, over the lean connection: sequential round trips (microseconds, sorted),
/// then `count` messages with up to `window` unanswered (messages per second).
func leanPingPong(host: String, port: Int, count: Int, window: Int) async throws -> (latencies: [Double], perSecond: Double) {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .channelOption(.socketOption(.tcp_nodelay), value: 1)
        .connect(host: host, port: port) { channel in
            channel.eventLoop.makeCompletedFuture { try TaskPortFraming.asyncChannel(channel, halfClosure: false) }
        }
    let allocator = ByteBufferAllocator()
    func request(_ id: Int) throws -> ByteBuffer {
        try TaskPortFraming.frame(
            Dip_V1_RunTasksRequest.with {
                $0.protocolVersion = .protocolVersion1
                $0.id = UInt64(id)
            }, allocator: allocator)
    }
    return try await channel.executeThenClose { inbound, outbound in
        var answers = inbound.makeAsyncIterator()
        func answer() async throws -> UInt64 {
            guard let frame = try await answers.next() else { throw LeanEchoError.closedEarly }
            return try TaskPortFraming.decode(Dip_V1_RunTasksResponse.self, from: frame).id
        }
        let clock = ContinuousClock()
        var latencies: [Double] = []
        for id in 0..<(count + 50) {
            let start = clock.now
            try await outbound.write(try request(id))
            let echoed = try await answer()
            guard echoed == UInt64(id) else { throw LeanEchoError.wrongID(expected: UInt64(id), got: echoed) }
            if id >= 50 { latencies.append(microseconds(clock.now - start)) }
        }
        let start = clock.now
        var unanswered = 0
        for id in 0..<count {
            if unanswered == window {
                _ = try await answer()
                unanswered -= 1
            }
            try await outbound.write(try request(id))
            unanswered += 1
        }
        while unanswered > 0 {
            _ = try await answer()
            unanswered -= 1
        }
        return (latencies.sorted(), Double(count) / (microseconds(clock.now - start) / 1e6))
    }
}
