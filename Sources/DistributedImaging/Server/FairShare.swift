import Synchronization

/// The server's bound on tasks in flight, shared by every running job: each job asks for one
/// turn at a time, and a freed turn goes to the waiting job that holds the fewest turns (the
/// one that asked first among equals). A small job submitted behind a large one that holds
/// every turn so gets each turn the large one frees until both hold as many, and then every
/// other one, instead of waiting for the large one to drain.
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
        /// Turns held now, in all and by job.
        var held = 0
        var heldByJob: [JobID: Int] = [:]
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
        /// Turns granted, in order, by job (tests).
        var log: [JobID]? = nil

        mutating func grant(to job: JobID) {
            self.held += 1
            self.heldByJob[job, default: 0] += 1
            self.log?.append(job)
        }
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
                        state.grant(to: job)
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

    /// Gives back a turn `job` held; the waiting job that holds the fewest turns gets it (of
    /// those, the one that has waited longest).
    func release(for job: JobID) {
        let bound = max(1, self.bound())
        let next = self.state.withLock { state -> Waiter? in
            state.held -= 1
            let left = (state.heldByJob[job] ?? 1) - 1
            state.heldByJob[job] = left > 0 ? left : nil
            guard !state.waiters.isEmpty, state.held < bound else { return nil }
            var chosen = 0
            for index in state.waiters.indices.dropFirst()
            where state.heldByJob[state.waiters[index].job, default: 0] < state.heldByJob[state.waiters[chosen].job, default: 0] {
                chosen = index
            }
            let next = state.waiters.remove(at: chosen)
            state.grant(to: next.job)
            return next
        }
        next?.continuation.resume(returning: true)
    }
}
