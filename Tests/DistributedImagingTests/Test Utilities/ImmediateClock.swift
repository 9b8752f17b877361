import Synchronization

/// A clock whose sleeps return at once, moving its reading forward by the time slept, and that
/// records every sleep: code that backs off or waits out a delay on an injected clock runs
/// without wall-clock waits, and a test can check what it waited.
final class ImmediateClock: Clock, Sendable {
    typealias Instant = OffsetInstant

    private struct State {
        var now = Instant(offset: .zero)
        var sleeps: [Duration] = []
    }

    private let state = Mutex(State())

    var now: Instant { self.state.withLock { $0.now } }
    var minimumResolution: Duration { .zero }

    /// Every sleep so far, in order.
    var sleeps: [Duration] { self.state.withLock { $0.sleeps } }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try Task.checkCancellation()
        self.state.withLock { state in
            let duration = state.now.duration(to: deadline)
            state.sleeps.append(max(duration, .zero))
            if deadline > state.now { state.now = deadline }
        }
        await Task.yield()
    }
}
