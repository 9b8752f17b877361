/// The seed's **Optional** policy: a task is rejected with probability equal to the load; an
/// accepted task waits ``delay`` with probability equal to the load.
public struct OptionalScheduler: Scheduler, Hashable {
    /// The constant delay injected with probability equal to the load (the seed's 3 s by default).
    public var delay: Duration

    /// An Optional scheduler injecting `delay` (default 3 s).
    public init(delay: Duration = .seconds(3)) {
        self.delay = delay
    }

    public func decide(on task: TaskRequest, load: Double, using generator: inout some RandomNumberGenerator) -> SchedulingDecision {
        if Double.random(in: 0..<1, using: &generator) < load {
            return .reject(reason: "optional policy declined at load \(load)")
        }
        return .acceptance(load: load, delay: self.delay, using: &generator)
    }
}
