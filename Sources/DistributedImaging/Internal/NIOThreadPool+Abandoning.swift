import NIOPosix
import Synchronization

extension NIOThreadPool {
    /// Runs `body` on the pool and returns its result — or throws `CancellationError` as soon as
    /// the calling task is cancelled, leaving `body` to finish on its thread with its result
    /// dropped.
    ///
    /// For work that cannot be interrupted (a decode in C) but whose caller must be able to stop
    /// waiting for it, e.g. at a task deadline. Whatever `body` writes must be safe to land late:
    /// the node's outputs are written atomically (temporary file, then rename).
    func runAbandoningOnCancel<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let slot = ContinuationSlot<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                guard slot.store(continuation) else {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                self.submit { state in
                    guard state == .active else {
                        slot.resume(with: .failure(CancellationError()))
                        return
                    }
                    slot.resume(with: Result { try body() })
                }
            }
        } onCancel: {
            slot.resume(with: .failure(CancellationError()))
        }
    }
}

/// One continuation resumed at most once, by whichever of the work and the cancellation comes
/// first; a cancellation that comes before the continuation is stored is remembered.
private final class ContinuationSlot<T: Sendable>: Sendable {
    private enum State {
        case waiting
        case stored(CheckedContinuation<T, any Error>)
        case cancelledEarly
        case resumed
    }

    private let state = Mutex<State>(.waiting)

    /// Stores `continuation`; `false` when the task was cancelled before (resume it yourself).
    func store(_ continuation: CheckedContinuation<T, any Error>) -> Bool {
        self.state.withLock { state in
            guard case .waiting = state else { return false }
            state = .stored(continuation)
            return true
        }
    }

    func resume(with result: Result<T, any Error>) {
        let continuation = self.state.withLock { state -> CheckedContinuation<T, any Error>? in
            switch state {
            case .stored(let continuation):
                state = .resumed
                return continuation
            case .waiting:
                if case .failure = result { state = .cancelledEarly }
                return nil
            case .cancelledEarly, .resumed:
                return nil
            }
        }
        continuation?.resume(with: result)
    }
}
