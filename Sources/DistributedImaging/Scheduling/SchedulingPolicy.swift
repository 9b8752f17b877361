/// The two scheduling policies of the seed design, as configuration files and flags name them.
public enum SchedulingPolicy: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// Every task is accepted (``MandatoryScheduler``).
    case mandatory
    /// A task is rejected with probability equal to the load (``OptionalScheduler``).
    case optional

    /// The scheduler implementing this policy.
    public func makeScheduler(delay: Duration) -> any Scheduler {
        switch self {
        case .mandatory: MandatoryScheduler(delay: delay)
        case .optional: OptionalScheduler(delay: delay)
        }
    }

    public var description: String { self.rawValue }
}
