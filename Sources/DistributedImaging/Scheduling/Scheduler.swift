/// The node-side admission decision: given a task and the node's load, accept (possibly after an
/// injected delay) or reject.
///
/// ``MandatoryScheduler`` always accepts; ``OptionalScheduler`` rejects with probability equal to
/// the load. Under both, an accepted task waits a constant delay with probability equal to the
/// load, as in the seed design (see ``SchedulingDecision/acceptance(load:delay:using:)``).
///
/// Randomness comes from the caller's generator so that a fixed seed reproduces every decision.
public protocol Scheduler: Sendable {
    /// Decides on `task`.
    ///
    /// - Parameters:
    ///   - task: The task offered.
    ///   - load: The node's load, 0...1.
    ///   - generator: The source of randomness.
    /// - Returns: Accept (with the delay to inject) or reject (with the reason).
    func decide(on task: TaskRequest, load: Double, using generator: inout some RandomNumberGenerator) -> SchedulingDecision
}

extension SchedulingDecision {
    /// The seed's acceptance: with probability `load`, wait `delay` before processing.
    ///
    /// Draws exactly one random number.
    public static func acceptance(
        load: Double, delay: Duration, using generator: inout some RandomNumberGenerator
    ) -> SchedulingDecision {
        let delayed = Double.random(in: 0..<1, using: &generator) < load
        return .accept(delay: delayed ? delay : .zero)
    }
}
