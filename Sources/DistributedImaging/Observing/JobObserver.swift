/// Watches the events of every job a ``JobSubmitter`` runs: cluster status, metrics.
///
/// ``ObservedJobSubmitter`` asks each observer for a per-job callback when a job starts and calls
/// it, in order, for every event of that job before the submitter's own callback.
public protocol JobObserver: Sendable {
    /// Returns the callback for the events of one job.
    ///
    /// - Parameter request: The job, as submitted.
    func observe(_ request: JobRequest) -> @Sendable (JobEvent) -> Void
}

/// A ``JobSubmitter`` that shows every job's events to some ``JobObserver``s.
///
/// ```swift
/// let activity = ClusterActivity()
/// let submitter = ObservedJobSubmitter(server, observers: [activity])
/// ```
public struct ObservedJobSubmitter: JobSubmitter {
    private let base: any JobSubmitter
    private let observers: [any JobObserver]

    /// Wraps `base`.
    public init(_ base: any JobSubmitter, observers: [any JobObserver]) {
        self.base = base
        self.observers = observers
    }

    /// Runs `request` on the wrapped submitter; each event goes to every observer, then to `onEvent`.
    public func submit(_ request: JobRequest, onEvent: @escaping @Sendable (JobEvent) async -> Void) async throws -> JobReceipt {
        let callbacks = self.observers.map { $0.observe(request) }
        return try await self.base.submit(request) { event in
            for callback in callbacks { callback(event) }
            await onEvent(event)
        }
    }
}
