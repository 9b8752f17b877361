public import DistributedImaging

extension PeerStatus {
    /// The status as an aligned text table for people: `dip-client status`.
    ///
    /// A server's status lists its nodes (name, policy, load — with `auto` after a measured one —,
    /// busy slots of slots and queue as the node last advertised them, health, tasks in flight,
    /// done, failed, rejected) and its running jobs (id, input, done/total); a node's lists itself.
    public var table: String {
        var lines: [String] = []
        let role = self.role == .server ? "dip-server" : "dip-node"
        lines.append("\(role) \(self.softwareVersion), protocol \(WireProtocol.describe(self.protocolVersion)), \(self.serving ? "serving" : "not serving")")
        let nodes = self.role == .server ? self.nodes : (self.node.map { [$0] } ?? [])
        lines.append("")
        if nodes.isEmpty {
            lines.append("nodes: none")
        } else {
            var rows = [
                ["NODE", "ADDRESS", "POLICY", "LOAD", "BUSY", "QUEUED", "HEALTH", "IN FLIGHT", "DONE", "FAILED", "REJECTED"]
            ]
            for node in nodes {
                let activity = node.activity
                let load = Self.decimal(node.load) + (node.loadMode == .auto ? " auto" : "")
                // A node that did not advertise its occupancy (a configured one, an older one): "-".
                let told = node.queuedTasks != nil
                let busy = !told ? "-" : node.maxConcurrentTasks > 0 ? "\(node.activeTasks)/\(node.maxConcurrentTasks)" : "\(node.activeTasks)"
                rows.append([
                    node.name.rawValue, node.address, node.policy?.rawValue ?? "-", load, busy,
                    node.queuedTasks.map { "\($0)" } ?? "-", node.suspect == true ? "suspect" : "alive",
                    activity.map { "\($0.inFlight)" } ?? "\(node.activeTasks)", activity.map { "\($0.done)" } ?? "-",
                    activity.map { "\($0.failed)" } ?? "-", activity.map { "\($0.rejected)" } ?? "-",
                ])
            }
            lines.append("nodes: \(nodes.count)")
            lines += Self.align(rows)
        }
        if self.role == .server {
            lines.append("")
            if self.jobs.isEmpty {
                lines.append("jobs: none running")
            } else {
                var rows = [["JOB", "INPUT", "DONE", "FAILED", "ELAPSED"]]
                for job in self.jobs {
                    rows.append([
                        job.jobID.rawValue, job.input, "\(job.done)/\(job.total)", "\(job.failed)",
                        JobProgress.format(duration: job.elapsed),
                    ])
                }
                lines.append("jobs: \(self.jobs.count) running")
                lines += Self.align(rows)
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Two decimals, e.g. `0.25`; a value that is not a load (NaN, infinite, negative or
    /// huge: the table shows what it received, never traps) as Swift prints it.
    private static func decimal(_ value: Double) -> String {
        guard value.isFinite, value >= 0, value < 1e12 else { return "\(value)" }
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    private static func align(_ rows: [[String]]) -> [String] {
        let count = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: count)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }
    }
}
