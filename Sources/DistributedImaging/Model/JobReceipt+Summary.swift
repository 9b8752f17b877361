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
        if let timing = self.timingLine { lines.append(timing) }
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

extension JobReceipt {
    /// The run tasks' latency percentiles: ``taskLatency`` when the receipt carries it, else
    /// computed from the tasks that were placed (a receipt that crossed a transport without it).
    public var taskLatencyPercentiles: LatencyPercentiles? {
        self.taskLatency ?? LatencyPercentiles(self.tasks.filter { $0.attempts > 0 }.map(\.elapsed))
    }

    /// A line for people on where the job's time went, e.g. `makespan 12.301 s; task latency
    /// p50 0.210 s, p95 3.402 s, p99 3.511 s; on nodes: queue 1.2 s, delay 9.0 s, processing
    /// 4.1 s (sums over tasks)`; `nil` when no task ran.
    public var timingLine: String? {
        guard let latency = self.taskLatencyPercentiles else { return nil }
        var parts: [String] = []
        if let makespan = self.makespan { parts.append(String(format: "makespan %.3f s", makespan)) }
        parts.append(String(format: "task latency p50 %.3f s, p95 %.3f s, p99 %.3f s", latency.p50, latency.p95, latency.p99))
        let timed = self.tasks.filter { $0.processingSeconds != nil }
        if !timed.isEmpty {
            let queue = timed.reduce(0) { $0 + ($1.queueSeconds ?? 0) }
            let delay = timed.reduce(0) { $0 + ($1.delaySeconds ?? 0) }
            let processing = timed.reduce(0) { $0 + ($1.processingSeconds ?? 0) }
            parts.append(
                String(format: "on nodes: queue %.3f s, delay %.3f s, processing %.3f s (sums over %ld tasks)", queue, delay, processing, timed.count))
        }
        return parts.joined(separator: "; ")
    }
}
