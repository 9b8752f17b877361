import Synchronization

/// The lifecycle of a serving type (an endpoint, a registrar): it runs once, as grpc-swift's
/// `GRPCServer` and Hummingbird's `Server` do; a second ``start()`` is an error.
package final class RunOnce: Sendable {
    package enum State: Sendable, Equatable {
        case idle, running, finished
    }

    private let state = Mutex(State.idle)
    private let name: String

    /// A lifecycle for `name` (the type, for the error).
    package init(_ name: String) {
        self.name = name
    }

    /// The state now.
    package var current: State { self.state.withLock { $0 } }

    /// Moves from idle to running.
    ///
    /// - Throws: ``DistributedImagingError`` with code `internalError` when it ran already or runs.
    package func start() throws {
        let previous = self.state.withLock { state in
            defer { if state == .idle { state = .running } }
            return state
        }
        guard previous == .idle else {
            throw DistributedImagingError(
                code: .internalError,
                message: "\(self.name).run() called while it \(previous == .running ? "is running" : "has finished"): it runs once; create a new one")
        }
    }

    /// Marks the run finished.
    package func finish() {
        self.state.withLock { $0 = .finished }
    }

}
