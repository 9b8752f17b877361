import Synchronization

/// The server's bound on tasks in flight, shared by every running job, round-robin: each job
/// asks for one turn at a time, and the turns freed go to the waiting jobs in the order they
/// asked, so a small job submitted behind a large one gets every other free turn instead of
/// waiting for the large one to drain.
///
/// The bound is read on every request and release (the server's: the configured bound, but no
/// more than its nodes can hold), so that tasks holding a turn find a node with room rather
/// than queueing for one, where jobs would not take turns.
final class FairShare: Sendable {
    private struct Waiter {
        var id: UInt64
        var job: JobID
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        /// Turns held now.
        var held = 0
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
        /// Turns granted, in order, by job (tests).
        var log: [JobID]? = nil
    }

    private let state: Mutex<State>
    private let bound: @Sendable () -> Int

    /// A share of `bound()` turns (at least 1), read each time a turn is asked for or given back.
    init(bound: @escaping @Sendable () -> Int, recordingGrants: Bool = false) {
        self.bound = bound
        self.state = Mutex(State(log: recordingGrants ? [] : nil))
    }

    /// A share of a fixed number of turns.
    convenience init(bound: Int, recordingGrants: Bool = false) {
        self.init(bound: { bound }, recordingGrants: recordingGrants)
    }

    /// Waits for a turn for `job`; `false` when the calling task was cancelled first.
    func acquire(for job: JobID) async -> Bool {
        let id = self.state.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let bound = max(1, self.bound())
                let granted = self.state.withLock { state -> Bool? in
                    if Task.isCancelled { return false }
                    if state.held < bound && state.waiters.isEmpty {
                        state.held += 1
                        state.log?.append(job)
                        return true
                    }
                    state.waiters.append(Waiter(id: id, job: job, continuation: continuation))
                    return nil
                }
                if let granted { continuation.resume(returning: granted) }
            }
        } onCancel: {
            let waiter = self.state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(returning: false)
        }
    }

    /// Jobs waiting for a turn now (tests).
    var waiting: Int { self.state.withLock { $0.waiters.count } }

    /// The jobs turns were granted to, in order (only when made with `recordingGrants`).
    var grants: [JobID] { self.state.withLock { $0.log ?? [] } }

    /// Gives back a turn; the job that has waited longest gets it.
    func release() {
        let bound = max(1, self.bound())
        let next = self.state.withLock { state -> Waiter? in
            state.held -= 1
            guard !state.waiters.isEmpty, state.held < bound else { return nil }
            state.held += 1
            let next = state.waiters.removeFirst()
            state.log?.append(next.job)
            return next
        }
        next?.continuation.resume(returning: true)
    }
}
