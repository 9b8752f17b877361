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
        let receipt = await self.executor.execute(TaskRequest(request.task))
        return .with { $0.receipt = Dip_V1_TaskReceipt(receipt) }
    }
}
