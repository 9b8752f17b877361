import Synchronization

/// A clock reading that moves only when a test advances it: pass ``read`` where a type takes a
/// `now` closure, so that expiry and retry windows do not depend on how loaded the machine is.
final class ManualTime: Sendable {
    private let instant = Mutex(ContinuousClock.now)

    /// The current reading.
    var now: ContinuousClock.Instant { self.instant.withLock { $0 } }

    /// A closure reading this clock.
    var read: @Sendable () -> ContinuousClock.Instant { { self.now } }

    /// Moves the reading forward by `duration`.
    func advance(by duration: Duration) {
        self.instant.withLock { $0 += duration }
    }
}
