/// The seed's **Mandatory** policy: every task is accepted; with probability equal to the load it
/// waits ``delay`` first.
public struct MandatoryScheduler: Scheduler, Hashable {
    /// The constant delay injected with probability equal to the load (the seed's 3 s by default).
    public var delay: Duration

    /// A Mandatory scheduler injecting `delay` (default 3 s).
    public init(delay: Duration = .seconds(3)) {
        self.delay = delay
    }

    public func decide(on task: TaskRequest, load: Double, using generator: inout some RandomNumberGenerator) -> SchedulingDecision {
        .acceptance(load: load, delay: self.delay, using: &generator)
    }
}
