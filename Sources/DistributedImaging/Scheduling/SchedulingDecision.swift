/// A node's answer to a task offered to it: take it (possibly after a delay) or decline.
public enum SchedulingDecision: Sendable, Hashable {
    /// Take the task; wait `delay` before processing it (`.zero` for none).
    case accept(delay: Duration)
    /// Decline the task; the server places it again.
    case reject(reason: String)

    /// Whether the task was accepted.
    public var isAccepted: Bool {
        if case .accept = self { return true }
        return false
    }

    /// The injected delay of an accepted task; `nil` for a rejection.
    public var delay: Duration? {
        if case .accept(let delay) = self { return delay }
        return nil
    }
}
