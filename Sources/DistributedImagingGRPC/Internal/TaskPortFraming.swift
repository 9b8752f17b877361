package import NIOCore
package import SwiftProtobuf

/// The task port's framing (`Docs/Protocol.md`, "Task port"): each message is a 4-byte
/// big-endian length, then that many bytes of one protobuf message — `RunTasksRequestBatch`
/// from the server, `RunTasksResponseBatch` from the node.
package enum TaskPortFraming {
    /// The longest message accepted, as gRPC's default receive limit.
    package static let maximumLength = 4 * 1024 * 1024

    /// A frame longer than ``maximumLength``: the connection is closed.
    package struct FrameTooLong: Error, CustomStringConvertible {
        package let length: Int
        package var description: String {
            "task port: a message of \(self.length) bytes, more than the \(TaskPortFraming.maximumLength) accepted"
        }
    }

    /// `message` serialized behind its length.
    package static func frame(_ message: some SwiftProtobuf.Message, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        let bytes: [UInt8] = try message.serializedBytes()
        guard bytes.count <= Self.maximumLength else { throw FrameTooLong(length: bytes.count) }
        var buffer = allocator.buffer(capacity: 4 + bytes.count)
        buffer.writeInteger(UInt32(bytes.count))
        buffer.writeBytes(bytes)
        return buffer
    }

    /// `channel` (in its initializer, on its event loop) as a task port stream: frames in
    /// (``TaskPortFrameDecoder``), buffers out. With `halfClosure`, finishing the writer closes
    /// only the sending half (the task port's protocol; `allowRemoteHalfClosure` lets the peer
    /// do the same).
    package static func asyncChannel(
        _ channel: any Channel, halfClosure: Bool = true
    ) throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TaskPortFrameDecoder()))
        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: halfClosure))
    }

    /// The message in `frame` (what ``TaskPortFrameDecoder`` passes on).
    package static func decode<Message: SwiftProtobuf.Message>(_ type: Message.Type, from frame: ByteBuffer) throws -> Message {
        try Message(serializedBytes: Array(frame.readableBytesView))
    }
}

/// Splits a task port connection's bytes into frames (without their length).
package final class TaskPortFrameDecoder: ByteToMessageDecoder {
    package typealias InboundOut = ByteBuffer

    package init() {}

    package func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard length <= TaskPortFraming.maximumLength else { throw TaskPortFraming.FrameTooLong(length: Int(length)) }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(Self.wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }

    package func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A partial frame at the end is dropped with the connection.
        try self.decode(context: context, buffer: &buffer)
    }
}
