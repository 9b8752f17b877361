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
    try await withThrowingTaskGroup(of: RPCOutcome<Result>.self) { group in
        group.addTask { .finished(try await body()) }
        group.addTask {
            // Throws once `body` ended first and this task is cancelled.
            try? await context.cancellation.cancelled
            // Quiescing, not the caller: `body` goes on.
            return shutdown?.isSignalled == true ? .shuttingDown : .cancelled
        }
        while let outcome = try await group.next() {
            switch outcome {
            case .finished(let result):
                group.cancelAll()
                return result
            case .cancelled:
                group.cancelAll()  // the RPC was cancelled: stop `body`, then take what it returns
            case .shuttingDown:
                continue
            }
        }
        throw DistributedImagingError(code: .internalError, message: "the call ended without a result")
    }
}

/// What ended first in ``cancellingWithRPC(_:unlessShuttingDown:_:)``.
private enum RPCOutcome<Result: Sendable>: Sendable {
    case finished(Result)
    case cancelled
    case shuttingDown
}
