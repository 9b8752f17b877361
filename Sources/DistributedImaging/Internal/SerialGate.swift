import Synchronization

/// Lets one caller at a time through, first come first served: for async work made of several
/// steps that must not interleave with another caller's, such as a transaction of several
/// statements on one database connection.
///
/// Waiting is not cancellable: the work behind the gate is short and must run to its end.
final class SerialGate: Sendable {
    private struct State {
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Runs `body` once every caller that came before has left the gate.
    func withGate<T>(_ body: () async throws -> T) async throws -> T {
        await self.enter()
        defer { self.leave() }
        return try await body()
    }

    private func enter() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let enterNow = self.state.withLock { state -> Bool in
                guard state.held else {
                    state.held = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if enterNow { continuation.resume() }
        }
    }

    private func leave() {
        let next = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.held = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
