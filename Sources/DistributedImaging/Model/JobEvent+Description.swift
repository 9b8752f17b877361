extension JobEvent: CustomStringConvertible {
    /// One line for people, e.g. `rejected in/a.png on node-1 (attempt 2): …`.
    public var description: String {
        switch self {
        case .started(let jobID, let tasks, let skipped):
            return "job \(jobID): \(tasks) tasks" + (skipped > 0 ? ", \(skipped) entries skipped" : "")
        case .placed(_, let input, let node, let attempt):
            return "placed \(input) on \(node) (attempt \(attempt))"
        case .rejected(_, let input, let node, let attempt, let reason):
            return "rejected \(input) on \(node) (attempt \(attempt)): \(reason)"
        case .completed(let task):
            return task.description
        case .finished(let receipt):
            return receipt.message
        case .snapshot(let record):
            return "job \(record.id) (\(record.state.rawValue)): \(record.succeeded + record.failed)/\(record.tasks) tasks ended, "
                + "\(record.failed) failed"
        }
    }
}

extension JobReceipt.Task: CustomStringConvertible {
    /// One line for people, e.g. `succeeded in/a.png → out/a.png on node-2 (3 attempts, delayed)`.
    public var description: String {
        var details: [String] = []
        if self.attempts > 0 { details.append(self.attempts == 1 ? "1 attempt" : "\(self.attempts) attempts") }
        if self.delayed { details.append("delayed") }
        var line = "\(self.status.rawValue) \(self.input)"
        if let output = self.output, self.status == .succeeded { line += " → \(output)" }
        if let node = self.node { line += " on \(node)" }
        if !details.isEmpty { line += " (\(details.joined(separator: ", ")))" }
        if let error = self.error, self.status != .succeeded { line += ": \(error)" }
        return line
    }
}

extension JobEvent {
    /// The line a client prints for this event under its progress display (`dip-client submit`
    /// and `wait`): every failed task; with `quiet` false, every other ended task and rejection
    /// too; nothing for the other events.
    public func progressLine(quiet: Bool) -> String? {
        switch self {
        case .completed(let task) where task.status == .failed: "  \(self)"
        case .rejected, .completed: quiet ? nil : "  \(self)"
        case .started, .placed, .finished, .snapshot: nil
        }
    }
}
