import Foundation

extension JobReceipt {
    /// What a client shows when the job ended, one line each: the skipped entries
    /// (``skippedLines(limit:)``), the failed entries that were never placed (no event named
    /// them), the counts and time, and the message unless the job succeeded with work done.
    public var endLines: [String] {
        var lines = self.skippedLines().map { "  \($0)" }
        for task in self.tasks where task.status == .failed && task.attempts == 0 {
            lines.append("  failed \(task.input): \(task.error ?? "")")
        }
        let counts = self.counts
        lines.append(
            "\(self.status): \(counts.succeeded) succeeded, \(counts.failed) failed, \(counts.skipped) skipped; "
                + "\(counts.rejections) rejections, \(counts.delayed) delayed; \(String(format: "%.3f", self.elapsed)) s")
        if self.status != .succeeded || counts.total == 0 { lines.append(self.message) }
        return lines
    }

    /// Lines for people about the skipped entries, grouped by reason: up to `limit` entries
    /// of a reason are listed one per line, more are summarised in one line, e.g.
    /// `skipped 300 entries (photos/a.png, photos/b.png, …): already complete for the same
    /// pipeline (force redoes them)`.
    ///
    /// - Parameter limit: The most entries listed one by one per reason.
    public func skippedLines(limit: Int = 5) -> [String] {
        var order: [String] = []
        var byReason: [String: [Task]] = [:]
        for task in self.tasks where task.status == .skipped {
            let reason = Self.reasonGroup(task.error ?? "")
            if byReason[reason] == nil { order.append(reason) }
            byReason[reason, default: []].append(task)
        }
        var lines: [String] = []
        for reason in order {
            let tasks = byReason[reason] ?? []
            if tasks.count <= limit {
                lines += tasks.map { "skipped \($0.input): \($0.error ?? reason)" }
            } else {
                let examples = tasks.prefix(2).map(\.input).joined(separator: ", ")
                lines.append("skipped \(tasks.count) entries (\(examples), …): \(reason)")
            }
        }
        return lines
    }

    /// The part of a reason shared by its group: "already complete" reasons name their job.
    private static func reasonGroup(_ reason: String) -> String {
        reason.hasPrefix(RerunSelection.completePrefix)
            ? "\(RerunSelection.completePrefix) for the same pipeline (force redoes them)" : reason
    }
}
