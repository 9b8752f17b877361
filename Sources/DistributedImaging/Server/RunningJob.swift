import Synchronization

/// A job the server is running: its record with live counts, its watchers, and the task that
/// runs it.
///
/// Events go to every watcher in the order they were published. A watcher that subscribes late
/// first gets ``JobEvent/snapshot(_:)`` with the counts so far; one that subscribes after the
/// job ended gets the snapshot and the final ``JobEvent/finished(_:)``.
final class RunningJob: Sendable {
    /// Why a job stops before its tasks ended.
    enum Stop: Sendable, Equatable {
        /// A client cancelled it.
        case cancelled
        /// The server is shutting down and the grace period passed.
        case shutdown
    }

    private struct State {
        var record: JobRecord
        var watchers: [UInt64: AsyncThrowingStream<JobEvent, any Error>.Continuation] = [:]
        var nextWatcher: UInt64 = 0
        var receipt: JobReceipt?
        var ended = false
        var stop: Stop?
        var task: Task<Void, Never>?
    }

    /// The job's id.
    let id: JobID
    private let state: Mutex<State>

    init(record: JobRecord) {
        self.id = record.id
        self.state = Mutex(State(record: record))
    }

    /// The record with the counts so far.
    var record: JobRecord { self.state.withLock { $0.record } }

    /// Why the job was stopped, if it was.
    var stop: Stop? { self.state.withLock { $0.stop } }

    /// Sets the task that runs the job; a stop asked for before is applied now.
    func run(_ task: Task<Void, Never>) {
        let stopNow = self.state.withLock { state -> Bool in
            state.task = task
            return state.stop != nil
        }
        if stopNow { task.cancel() }
    }

    /// Stops the job: its task is cancelled, running tasks are cancelled on their nodes.
    ///
    /// - Returns: `false` when the job had already ended.
    @discardableResult
    func stop(_ reason: Stop) -> Bool {
        let task = self.state.withLock { state -> Task<Void, Never>?? in
            guard !state.ended else { return .none }
            if state.stop == nil { state.stop = reason }
            return .some(state.task)
        }
        guard let task else { return false }
        task?.cancel()
        return true
    }

    /// Publishes `event` to every watcher and counts it.
    func publish(_ event: JobEvent) {
        self.state.withLock { state in
            if case .completed(let task) = event {
                switch task.status {
                case .succeeded: state.record.succeeded += 1
                case .failed, .cancelled: state.record.failed += 1
                case .skipped: break
                }
            }
            for watcher in state.watchers.values { watcher.yield(event) }
        }
    }

    /// Ends the job with `receipt`: publishes ``JobEvent/finished(_:)`` and ends every watch.
    func end(with receipt: JobReceipt, state final: JobRecord.State) {
        let event = JobEvent.finished(receipt)
        // Finishing a stream runs its termination handler, which takes the lock: outside it.
        let watchers = self.state.withLock { state in
            state.ended = true
            state.receipt = receipt
            state.record.state = final
            state.record.message = receipt.message
            state.record.elapsed = receipt.elapsed
            state.record.succeeded = receipt.counts.succeeded
            state.record.failed = receipt.counts.failed + receipt.counts.cancelled
            defer { state.watchers = [:] }
            return Array(state.watchers.values)
        }
        for watcher in watchers {
            watcher.yield(event)
            watcher.finish()
        }
    }

    /// Ends every watch with `error`, the job not ended (it stays in the store to resume).
    func abandon(_ error: any Error) {
        let watchers = self.state.withLock { state in
            state.ended = true
            defer { state.watchers = [:] }
            return Array(state.watchers.values)
        }
        for watcher in watchers { watcher.finish(throwing: error) }
    }

    /// A stream of the job's events from now on, starting with a snapshot when `snapshot` is set.
    func watch(snapshot: Bool) -> AsyncThrowingStream<JobEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<JobEvent, any Error>.makeStream()
        let id = self.state.withLock { state -> UInt64? in
            if snapshot { continuation.yield(.snapshot(state.record)) }
            if let receipt = state.receipt {
                continuation.yield(.finished(receipt))
                continuation.finish()
                return nil
            }
            if state.ended {
                continuation.finish(throwing: DistributedImagingError.unavailable("job \(self.id) was stopped by a server shutdown"))
                return nil
            }
            state.nextWatcher &+= 1
            state.watchers[state.nextWatcher] = continuation
            return state.nextWatcher
        }
        if let id {
            continuation.onTermination = { [weak self] _ in
                _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
            }
        }
        return stream
    }
}
