import DistributedImaging
import GRPCCore

/// Serves any ``DistributedImaging/TaskExecutor`` as `dip.v1.NodeService`: the node side of the
/// server → node `RunTask` call.
public struct NodeServiceProvider: Dip_V1_NodeService.SimpleServiceProtocol {
    private let executor: any TaskExecutor

    /// Serves `executor` (for `dip-node`, the `ImagingNode`).
    public init(executor: any TaskExecutor) {
        self.executor = executor
    }

    /// Handles `RunTask`: the executor's receipt, whatever its status.
    public func runTask(request: Dip_V1_RunTaskRequest, context: ServerContext) async throws -> Dip_V1_RunTaskResponse {
        try WireProtocol.check(request.protocolVersion, by: "dip-node '\(self.executor.node)'")
        let executor = self.executor
        let task = try TaskRequest(request.task)
        // The server gave up on the call (deadline, cancelled job): stop waiting for a slot or
        // the delay. Work already on the thread pool completes; its write is atomic.
        let receipt = try await cancellingWithRPC(context) { await executor.execute(task) }
        return .with { $0.receipt = Dip_V1_TaskReceipt(receipt) }
    }
}
