/// A job's progress as a client sees it, folded from its ``JobEvent``s, and its rendering: the
/// progress bar and the plain lines of `dip-client submit`.
///
/// Time is passed in (seconds since any fixed origin), so the arithmetic is deterministic:
///
/// ```swift
/// let origin = ContinuousClock.now
/// func seconds() -> Double { (ContinuousClock.now - origin) / .seconds(1) }
///
/// var progress = JobProgress()
/// progress.record(event, at: seconds())
/// print(progress.bar(width: 30, at: seconds()))  // [#########.....] 12/40 ...
/// ```
public struct JobProgress: Sendable, Hashable {
    /// The job's id, once started.
    public private(set) var jobID: JobID?
    /// Tasks in the job (images to process).
    public private(set) var total = 0
    /// Entries not processed (not images, directories when not recursive, already complete, not
    /// selected).
    public private(set) var skipped = 0
    /// Tasks that succeeded.
    public private(set) var succeeded = 0
    /// Tasks that failed for good.
    public private(set) var failed = 0
    /// Rejected placements.
    public private(set) var rejections = 0
    /// Placements after the first of a task (after a rejection or an unreachable node).
    public private(set) var replacements = 0
    /// Tasks whose node injected the load delay.
    public private(set) var delayed = 0
    /// Whether the ``JobEvent/finished(_:)`` event came.
    public private(set) var isFinished = false
    /// When the job started (the `started` event), in the caller's seconds.
    public private(set) var startTime: Double?
    private var placed: Set<String> = []

    /// No progress yet.
    public init() {}

    /// Tasks ended (succeeded or failed).
    public var done: Int { self.succeeded + self.failed }

    /// Tasks placed on a node and not answered yet.
    public var inFlight: Int { self.placed.count }

    /// Folds `event` in.
    ///
    /// - Parameters:
    ///   - event: The next event of the job.
    ///   - time: Now, in seconds since the caller's origin.
    public mutating func record(_ event: JobEvent, at time: Double) {
        switch event {
        case .started(let jobID, let tasks, let skipped):
            self.jobID = jobID
            self.total = tasks
            self.skipped = skipped
            self.startTime = time
        case .placed(_, let input, _, let attempt):
            self.placed.insert(input)
            if attempt > 1 { self.replacements += 1 }
        case .rejected(_, let input, _, _, _):
            self.placed.remove(input)
            self.rejections += 1
        case .completed(let task):
            self.placed.remove(task.input)
            switch task.status {
            case .succeeded: self.succeeded += 1
            case .failed: self.failed += 1
            case .skipped, .cancelled: break
            }
            if task.delayed { self.delayed += 1 }
        case .finished:
            self.placed.removeAll()
            self.isFinished = true
        case .snapshot(let record):
            // Attached to a running job: start from its counts.
            self.jobID = record.id
            self.total = record.tasks
            self.skipped = record.skipped
            self.succeeded = record.succeeded
            self.failed = record.failed
            if self.startTime == nil { self.startTime = time }
        }
    }

    /// Tasks ended per second since the start; `nil` before the first ended.
    public func rate(at time: Double) -> Double? {
        guard let start = self.startTime, self.done > 0, time > start else { return nil }
        return Double(self.done) / (time - start)
    }

    /// Seconds left at the current rate; `nil` while unknown, 0 when every task ended.
    public func estimatedSecondsLeft(at time: Double) -> Double? {
        if self.done >= self.total { return self.startTime == nil ? nil : 0 }
        guard let rate = self.rate(at: time), rate > 0 else { return nil }
        return Double(self.total - self.done) / rate
    }

    /// One line with a bar, for a terminal, e.g.
    /// `[##########..........] 20/40 50%  1 failed  4.0/s  ETA 5s`.
    ///
    /// - Parameters:
    ///   - width: The bar's width in characters, brackets excluded.
    ///   - time: Now, in the seconds of ``record(_:at:)``.
    public func bar(width: Int, at time: Double) -> String {
        let width = max(width, 1)
        let fraction = self.total > 0 ? Double(self.done) / Double(self.total) : (self.isFinished ? 1 : 0)
        let filled = min(width, Int((fraction * Double(width)).rounded(.down)))
        let bar = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
        return ([bar, "\(self.done)/\(self.total)", "\(Int((fraction * 100).rounded(.down)))%"] + self.details(at: time))
            .joined(separator: " ")
    }

    /// One plain line, for logs and pipes, e.g.
    /// `progress: 20/40 tasks done, 1 failed, 3 in flight, 4.0/s, ETA 5s`.
    public func line(at time: Double) -> String {
        var parts = ["progress: \(self.done)/\(self.total) tasks done"]
        if self.failed > 0 { parts.append("\(self.failed) failed") }
        parts.append("\(self.inFlight) in flight")
        if self.rejections > 0 { parts.append("\(self.rejections) rejections") }
        if let rate = self.rate(at: time) { parts.append("\(Self.format(rate: rate))/s") }
        if let left = self.estimatedSecondsLeft(at: time), !self.isFinished { parts.append("ETA \(Self.format(duration: left))") }
        return parts.joined(separator: ", ")
    }

    private func details(at time: Double) -> [String] {
        var parts: [String] = []
        if self.failed > 0 { parts.append("\(self.failed) failed") }
        if self.rejections > 0 { parts.append("\(self.rejections) rej") }
        if let rate = self.rate(at: time) { parts.append("\(Self.format(rate: rate))/s") }
        if self.isFinished {
            if let start = self.startTime { parts.append("in \(Self.format(duration: time - start))") }
        } else if let left = self.estimatedSecondsLeft(at: time) {
            parts.append("ETA \(Self.format(duration: left))")
        } else {
            parts.append("ETA --")
        }
        return parts
    }

    /// A rate with one decimal, e.g. `4.2`.
    static func format(rate: Double) -> String {
        guard rate.isFinite, rate >= 0, rate < 1e15 else { return "?" }
        let tenths = Int((rate * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// A duration for people: `42s`, `3m05s`, `2h01m`; `?` for a value that is not one (NaN,
    /// infinite, negative or beyond a million hours).
    public static func format(duration seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 3.6e9 else { return "?" }
        let total = Int(seconds.rounded(.up))
        if total < 60 { return "\(total)s" }
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        if total < 3600 { return "\(total / 60)m\(two(total % 60))s" }
        return "\(total / 3600)h\(two(total % 3600 / 60))m"
    }
}
