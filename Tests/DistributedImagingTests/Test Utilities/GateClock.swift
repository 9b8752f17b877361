import Synchronization

/// A clock whose sleeps wait until the test opens the gate: an injected delay holds its slot
/// exactly as long as the test wants, with no wall-clock time deciding anything.
final class GateClock: Clock, Sendable {
    typealias Instant = OffsetInstant

    private struct State {
        var isOpen = false
        var sleepers: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var next: UInt64 = 0
    }

    private let state = Mutex(State())

    var now: Instant { Instant(offset: .zero) }
    var minimumResolution: Duration { .zero }

    /// Sleeps waiting for the gate now.
    var sleepers: Int { self.state.withLock { $0.sleepers.count } }

    /// Ends every sleep, now and later.
    func open() {
        let waiting = self.state.withLock { state in
            state.isOpen = true
            defer { state.sleepers = [:] }
            return Array(state.sleepers.values)
        }
        waiting.forEach { $0.resume() }
    }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let id = self.state.withLock { state in
            defer { state.next += 1 }
            return state.next
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = self.state.withLock { state in
                    if state.isOpen || Task.isCancelled { return true }
                    state.sleepers[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.state.withLock { $0.sleepers.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }
}
