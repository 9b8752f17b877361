import Synchronization

/// A ``JobObserver`` that forwards every job to a list of observers, which can grow: wire it
/// into a submitter once, add observers (metrics, say) before jobs run.
///
/// Observers added while a job runs see the jobs submitted after.
public final class JobObservers: JobObserver {
    private let observers: Mutex<[any JobObserver]>

    /// A list holding `observers`.
    public init(_ observers: [any JobObserver] = []) {
        self.observers = Mutex(observers)
    }

    /// Adds `observer` for the jobs submitted from now on.
    public func add(_ observer: any JobObserver) {
        self.observers.withLock { $0.append(observer) }
    }

    /// Follows one job with every observer in the list now.
    public func observe(_ request: JobRequest) -> @Sendable (JobEvent) -> Void {
        let callbacks = self.observers.withLock { $0 }.map { $0.observe(request) }
        return { event in
            for callback in callbacks { callback(event) }
        }
    }
}
