public import DistributedImaging
public import GRPCCore
import SwiftProtobuf

/// Serves any ``DistributedImaging/TaskExecutor`` as `dip.v1.NodeService`: the node side of the
/// server → node `RunTask` call.
public struct NodeServiceProvider: Dip_V1_NodeService.SimpleServiceProtocol {
    private let executor: any TaskExecutor

    /// Serves `executor` (for `dip-node`, the `ImagingNode`).
    public init(executor: any TaskExecutor) {
        self.executor = executor
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
        // the delay. Work already on the thread pool completes; its write is atomic.
        let receipt = try await cancellingWithRPC(context) { await executor.execute(task) }
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
