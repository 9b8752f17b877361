import Synchronization

/// Messages waiting for one writer, handed over all at once: a writer that was busy sending
/// finds everything queued meanwhile and sends it as one batch (`RunTaskBatches`), so a busy
/// stream pays gRPC's per-message cost once for many tasks.
///
/// Any number of producers call ``yield(_:)``; one consumer loops on ``next()``. Unbounded: the
/// callers bound what is in flight (the server's ``CallLimiter``, the tasks a node was sent).
final class MessageOutbox<Message: Sendable>: Sendable {
    private enum Outcome {
        case dropped, queued
        case handed(CheckedContinuation<[Message]?, Never>)
    }

    private enum Next {
        case now([Message]?)
        case wait
    }

    private struct State {
        var queued: [Message] = []
        var consumer: CheckedContinuation<[Message]?, Never>?
        var finished = false
    }

    /// The most messages ``next()`` hands over at once (the rest wait for the next call), so
    /// that one gRPC message stays far below the peer's 4 MiB default limit.
    let maximumBatch: Int
    private let state = Mutex(State())

    init(maximumBatch: Int = 64) {
        precondition(maximumBatch > 0, "maximumBatch must be positive")
        self.maximumBatch = maximumBatch
    }

    /// Queues `message`; returns `false` (dropping it) once ``finish()`` was called.
    @discardableResult
    func yield(_ message: Message) -> Bool {
        let outcome = self.state.withLock { state -> Outcome in
            if state.finished { return .dropped }
            guard let consumer = state.consumer else {
                state.queued.append(message)
                return .queued
            }
            state.consumer = nil
            return .handed(consumer)
        }
        switch outcome {
        case .dropped: return false
        case .queued: return true
        case .handed(let consumer):
            consumer.resume(returning: [message])
            return true
        }
    }

    /// Takes no more messages; ``next()`` hands over what is queued, then returns `nil`.
    func finish() {
        let consumer = self.state.withLock { state -> CheckedContinuation<[Message]?, Never>? in
            state.finished = true
            defer { state.consumer = nil }
            return state.consumer
        }
        consumer?.resume(returning: nil)
    }

    /// Everything queued (at least one message, at most ``maximumBatch``), waiting while none
    /// is; `nil` once finished and drained, or when the calling task is cancelled.
    func next() async -> [Message]? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[Message]?, Never>) in
                let next = self.state.withLock { state -> Next in
                    if !state.queued.isEmpty {
                        guard state.queued.count > self.maximumBatch else {
                            defer { state.queued.removeAll(keepingCapacity: true) }
                            return .now(state.queued)
                        }
                        defer { state.queued.removeFirst(self.maximumBatch) }
                        return .now(Array(state.queued.prefix(self.maximumBatch)))
                    }
                    if state.finished || Task.isCancelled { return .now(nil) }
                    state.consumer = continuation
                    return .wait
                }
                if case .now(let batch) = next { continuation.resume(returning: batch) }
            }
        } onCancel: {
            self.state.withLock { state in
                defer { state.consumer = nil }
                return state.consumer
            }?.resume(returning: nil)
        }
    }
}
