import Logging
import Synchronization

/// The server's one writer to its ``JobStore``: task changes are queued without waiting and
/// written in batches, one batch at a time, each batch holding every change queued while the
/// previous one was written. So a store write costs one round trip per batch, not per task, and
/// the store never holds up dispatch.
final class JobStoreWriter: Sendable {
    /// The most changes written in one call to ``JobStore/apply(_:)``.
    static let maximumBatch = 5_000

    private struct State {
        var pending: [JobStoreChange] = []
        var flushers: [CheckedContinuation<Void, Never>] = []
        var draining = false
        /// The first write that failed, for the jobs' messages.
        var failure: String?
    }

    private let store: any JobStore
    private let logger: Logger
    private let state = Mutex(State())

    init(store: any JobStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Queues `change` to be written with the next batch.
    func enqueue(_ change: JobStoreChange) {
        let start = self.state.withLock { state -> Bool in
            state.pending.append(change)
            defer { state.draining = true }
            return !state.draining
        }
        if start { Task { await self.drain() } }
    }

    /// Returns once every change queued before the call was written (or its write failed).
    func flush() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let start = self.state.withLock { state -> Bool? in
                if !state.draining && state.pending.isEmpty { return nil }
                state.flushers.append(continuation)
                defer { state.draining = true }
                return !state.draining
            }
            switch start {
            case nil: continuation.resume()
            case true?: Task { await self.drain() }
            case false?: break
            }
        }
    }

    /// The first write that failed, if any.
    var failure: String? { self.state.withLock { $0.failure } }

    private func drain() async {
        while true {
            let taken = self.state.withLock { state -> ([JobStoreChange], [CheckedContinuation<Void, Never>])? in
                if state.pending.isEmpty && state.flushers.isEmpty {
                    state.draining = false
                    return nil
                }
                defer {
                    state.pending = []
                    state.flushers = []
                }
                return (state.pending, state.flushers)
            }
            guard let (batch, flushers) = taken else { return }
            var offset = 0
            while offset < batch.count {
                let end = min(batch.count, offset + Self.maximumBatch)
                do {
                    try await self.store.apply(Array(batch[offset..<end]))
                } catch {
                    self.state.withLock { state in
                        if state.failure == nil { state.failure = DistributedImagingError.message(of: error) }
                    }
                    self.logger.debug("job store write failed", metadata: ["error": "\(error)", "changes": "\(end - offset)"])
                }
                offset = end
            }
            for flusher in flushers { flusher.resume() }
        }
    }
}
