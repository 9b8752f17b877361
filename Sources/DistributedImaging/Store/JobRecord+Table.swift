public import Foundation

extension JobRecord {
    /// `records` as a table for people (`dip-client jobs`): a header, then per job its id,
    /// status, tasks done/failed/total, input, start (ISO 8601) and seconds run so far.
    ///
    /// - Parameter now: The time a running job's elapsed time is counted to.
    public static func table(_ records: [JobRecord], now: Date = Date()) -> [String] {
        let formatter = ISO8601DateFormatter()
        let header = "JOB                               STATUS      DONE/FAILED/TOTAL  INPUT  STARTED  ELAPSED"
        return [header] + records.map { job in
            let elapsed = job.ended == nil ? now.timeIntervalSince(job.submitted) : job.elapsed
            let counts = "\(job.succeeded + job.failed)/\(job.failed)/\(job.tasks)"
            return "\(job.id.rawValue.padding(toLength: 33, withPad: " ", startingAt: 0)) "
                + "\(job.state.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)) "
                + "\(counts.padding(toLength: 18, withPad: " ", startingAt: 0)) \(job.input)  "
                + "\(formatter.string(from: job.submitted))  \(String(format: "%.1f", elapsed)) s"
        }
    }
}
