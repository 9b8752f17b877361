import ServiceLifecycle
import Synchronization

/// Wraps a ``JobSubmitter`` so that a server shuts down in bounded time: on graceful shutdown it
/// refuses new jobs, lets the running ones finish for up to ``gracePeriod``, then stops them —
/// tasks not yet ended fail with the reason — and each caller still gets its receipt.
///
/// Run it as a `Service` that is shut down *before* the endpoint serving the jobs (list it after
/// the endpoint in a `ServiceGroup`): ``run()`` returns once every running job has answered.
///
/// ```swift
/// let jobs = GracefulJobSubmitter(base: server, gracePeriod: .seconds(30))
/// // serve `jobs`; ServiceGroup(services: [endpoint, jobs], ...)
/// ```
public final class GracefulJobSubmitter: JobSubmitter, Service {
    /// The submitter that runs the jobs.
    public let base: any JobSubmitter
    /// How long running jobs may continue after shutdown begins.
    public let gracePeriod: Duration

    private struct State {
        var draining = false
        var deadlinePassed = false
        var running = 0
        var nextID = 0
        var deadlineWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Wraps `base`.
    public init(base: any JobSubmitter, gracePeriod: Duration) {
        self.base = base
        self.gracePeriod = gracePeriod
    }

    /// Runs `request` on ``base`` unless the server is shutting down.
    ///
    /// - Throws: ``DistributedImagingError`` with code `unavailable` once shutdown began, and
    ///   whatever ``base`` throws.
    public func submit(_ request: JobRequest, onEvent: @escaping @Sendable (JobEvent) async -> Void) async throws -> JobReceipt {
        let admitted = self.state.withLock { state in
            guard !state.draining else { return false }
            state.running += 1
            return true
        }
        guard admitted else {
            throw DistributedImagingError.unavailable("the server is shutting down and takes no new jobs")
        }
        defer { self.finishOne() }

        let stopped = StopFlag()
        let forward: @Sendable (JobEvent) async -> Void = { event in
            // After the grace period the receipt is rewritten; the base's own is not sent.
            if case .finished = event, stopped.value.load(ordering: .acquiring) { return }
            await onEvent(event)
        }
        let receipt: JobReceipt = try await withThrowingTaskGroup(of: JobReceipt?.self) { group in
            group.addTask { try await self.base.submit(request, onEvent: forward) }
            group.addTask {
                await self.waitForDeadline()
                if !Task.isCancelled { stopped.value.store(true, ordering: .releasing) }
                return nil
            }
            while let outcome = try await group.next() {
                if let receipt = outcome {
                    group.cancelAll()
                    return receipt
                }
                group.cancelAll()  // the deadline passed: stop the job, then wait for its receipt
            }
            throw DistributedImagingError(code: .internalError, message: "the job ended without a receipt")
        }
        guard stopped.value.load(ordering: .acquiring) else { return receipt }
        let final = self.failRemaining(receipt)
        await onEvent(.finished(final))
        return final
    }

    /// Waits for graceful shutdown, then drains: refuses new jobs, waits up to ``gracePeriod``
    /// for the running ones, stops those still running and returns once every one answered.
    public func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            return
        }
        let busy = self.state.withLock { state -> Bool in
            state.draining = true
            return state.running > 0
        }
        guard busy else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitUntilIdle() }
            group.addTask {
                do { try await Task.sleep(for: self.gracePeriod) } catch { return }
                self.passDeadline()
            }
            await group.next()
            group.cancelAll()
        }
        await self.waitUntilIdle()
    }

    // MARK: - Internals

    private func failRemaining(_ receipt: JobReceipt) -> JobReceipt {
        let reason = "the server shut down: the task had not ended when the \(self.gracePeriod.secondsText) s grace period passed"
        let tasks = receipt.tasks.map { task -> JobReceipt.Task in
            guard task.status == .cancelled else { return task }
            var failed = task
            failed.status = .failed
            failed.error = reason
            return failed
        }
        var final = JobReceipt(
            jobID: receipt.jobID, status: .failed, input: receipt.input, output: receipt.output, pipeline: receipt.pipeline,
            tasks: tasks, elapsed: receipt.elapsed, message: "")
        final.message =
            "the server shut down: \(final.counts.succeeded) of \(final.counts.total - final.counts.skipped) tasks succeeded, "
            + "\(final.counts.failed) failed (grace period \(self.gracePeriod.secondsText) s)"
        return final
    }

    private func finishOne() {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.running -= 1
            guard state.running == 0 else { return [] }
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func waitUntilIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = self.state.withLock { state -> Bool in
                if state.running == 0 { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    private func passDeadline() {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.deadlinePassed = true
            defer { state.deadlineWaiters = [:] }
            return Array(state.deadlineWaiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when the grace period passed, or when the calling task is cancelled.
    private func waitForDeadline() async {
        let id = self.state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = self.state.withLock { state -> Bool in
                    if state.deadlinePassed || Task.isCancelled { return true }
                    state.deadlineWaiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.state.withLock { $0.deadlineWaiters.removeValue(forKey: id) }?.resume()
        }
    }
}

/// Set once a job's grace period passed.
private final class StopFlag: Sendable {
    let value = Atomic<Bool>(false)
}

extension Duration {
    /// The duration in seconds as short text (`30`, `0.5`).
    var secondsText: String {
        let value = self.seconds
        return value == value.rounded() ? String(Int(value)) : String(value)
    }
}
