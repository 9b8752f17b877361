import DistributedImaging
import GRPCCore

/// Runs `body` in a child task and cancels it when gRPC cancels the RPC — the caller went away
/// (Ctrl-C, a dropped connection) or its deadline passed. gRPC signals that through the
/// context's cancellation handle, not by cancelling the handler's task, so without this a job
/// (or a node's task) would run on after its caller left.
///
/// gRPC also cancels every call when its server begins a graceful shutdown (it quiesces each
/// connection). `unlessShuttingDown` tells that apart: when it is signalled, `body` runs to its
/// end, as a graceful shutdown promises for the work in flight.
///
/// - Returns: What `body` returns; after a cancellation, what it returns once cancelled.
func cancellingWithRPC<Result: Sendable>(
    _ context: ServerContext, unlessShuttingDown shutdown: ShutdownSignal? = nil,
    _ body: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            // Throws once `body` ended first and this task is cancelled.
            try? await context.cancellation.cancelled
            if let shutdown, shutdown.isSignalled {
                // Quiescing, not the caller: wait for `body` (this task is cancelled once it ends).
                try? await Task.sleep(for: .seconds(86_400 * 365))
            }
            return nil
        }
        while let outcome = try await group.next() {
            if let result = outcome {
                group.cancelAll()
                return result
            }
            group.cancelAll()  // the RPC was cancelled: stop `body`, then take what it returns
        }
        throw DistributedImagingError(code: .internalError, message: "the call ended without a result")
    }
}
