/// How a job ended.
public enum JobStatus: String, Sendable, Codable, Hashable, CaseIterable {
    /// Every task succeeded (a job with no images succeeds too).
    case succeeded
    /// At least one task failed, or the job could not start.
    case failed
    /// The client cancelled the job; tasks not started were not placed.
    case cancelled
    /// Still running: the status of the `receipt.json` a server rewrites during a job (a file
    /// left with it means the job was interrupted).
    case running
}

/// The server's answer to a ``JobRequest``: one entry per file of the input directory.
///
/// Its JSON form is the one `dip-client submit --json` prints and `receipt.json` holds.
public struct JobReceipt: Sendable, Codable, Hashable {
    /// How one file of the job ended.
    public enum Outcome: String, Sendable, Codable, Hashable, CaseIterable {
        case succeeded
        case failed
        /// Not processed, for the reason in ``Task/error``: a file that is not an image by its
        /// name (`.png`, `.jpg`, `.jpeg`, any case), a sub-directory of a job that is not
        /// recursive, an image already complete for the same pipeline (its output exists; see
        /// ``JobRequest/force``), or an image left out by ``JobRequest/only``.
        case skipped
        /// Not placed because the job was cancelled first.
        case cancelled
    }

    /// One file of the job.
    public struct Task: Sendable, Codable, Hashable {
        /// The input path, relative to the storage root.
        public var input: String
        /// The output path, relative to the storage root; `nil` for skipped entries, except
        /// images skipped as already complete, which name their existing output.
        public var output: String?
        public var status: Outcome
        /// The node whose answer ended the task (the last one tried).
        public var node: NodeID?
        /// Placements tried, rejections included.
        public var attempts: Int
        /// How many of those attempts were rejected.
        public var rejections: Int
        /// Whether the final node injected the load delay.
        public var delayed: Bool
        /// Seconds from the first placement to the final answer.
        public var elapsed: Double
        /// Why the task failed, was skipped or cancelled.
        public var error: String?
        /// The attempts that were lost and placed again — the node died, disconnected or passed
        /// the task deadline — each with its reason, in order. Policy rejections are counted in
        /// ``rejections`` instead.
        public var lostAttempts: [String]
        /// The input's size in bytes when the task was placed (succeeded and already-complete
        /// entries); a re-run skips the image only if it is unchanged. `nil`: unknown.
        public var inputSize: Int64?
        /// The input's modification time, in nanoseconds since 1970, when the task was placed
        /// (as ``inputSize``). `nil`: unknown.
        public var inputModifiedNanoseconds: Int64?
        /// The output's size in bytes after it was written; a re-run skips the image only if the
        /// output still has it. `nil`: unknown.
        public var outputSize: Int64?
        /// Seconds the final attempt waited in its node's queue for a slot (`nil`: unknown).
        public var queueSeconds: Double?
        /// Seconds of injected delay on the final node (`nil`: unknown).
        public var delaySeconds: Double?
        /// Seconds of processing on the final node (`nil`: unknown).
        public var processingSeconds: Double?

        public init(
            input: String, output: String?, status: Outcome, node: NodeID? = nil, attempts: Int = 0,
            rejections: Int = 0, delayed: Bool = false, elapsed: Double = 0, error: String? = nil,
            lostAttempts: [String] = [], inputSize: Int64? = nil, inputModifiedNanoseconds: Int64? = nil,
            outputSize: Int64? = nil
        ) {
            self.inputSize = inputSize
            self.inputModifiedNanoseconds = inputModifiedNanoseconds
            self.outputSize = outputSize
            self.input = input
            self.output = output
            self.status = status
            self.node = node
            self.attempts = attempts
            self.rejections = rejections
            self.delayed = delayed
            self.elapsed = elapsed
            self.error = error
            self.lostAttempts = lostAttempts
        }

        private enum CodingKeys: String, CodingKey {
            case input, output, status, node, attempts, rejections, delayed, elapsed, error, lostAttempts
            case inputSize, inputModifiedNanoseconds, outputSize
            case queueSeconds, delaySeconds, processingSeconds
        }

        /// Decodes a task; `lostAttempts`, `inputSize`, `inputModifiedNanoseconds` and
        /// `outputSize` may be absent (receipts written before they existed).
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.input = try container.decode(String.self, forKey: .input)
            self.output = try container.decodeIfPresent(String.self, forKey: .output)
            self.status = try container.decode(Outcome.self, forKey: .status)
            self.node = try container.decodeIfPresent(NodeID.self, forKey: .node)
            self.attempts = try container.decode(Int.self, forKey: .attempts)
            guard self.attempts >= 0 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .attempts, in: container, debugDescription: "attempts must be ≥ 0, not \(self.attempts)")
            }
            self.rejections = try container.decode(Int.self, forKey: .rejections)
            guard self.rejections >= 0 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .rejections, in: container, debugDescription: "rejections must be ≥ 0, not \(self.rejections)")
            }
            self.delayed = try container.decode(Bool.self, forKey: .delayed)
            self.elapsed = try container.decode(Double.self, forKey: .elapsed)
            guard self.elapsed.isFinite, self.elapsed >= 0 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .elapsed, in: container, debugDescription: "elapsed must be a finite number ≥ 0, not \(self.elapsed)")
            }
            self.error = try container.decodeIfPresent(String.self, forKey: .error)
            self.lostAttempts = try container.decodeIfPresent([String].self, forKey: .lostAttempts) ?? []
            self.inputSize = try container.decodeIfPresent(Int64.self, forKey: .inputSize)
            self.inputModifiedNanoseconds = try container.decodeIfPresent(Int64.self, forKey: .inputModifiedNanoseconds)
            self.outputSize = try container.decodeIfPresent(Int64.self, forKey: .outputSize)
            for key in [CodingKeys.queueSeconds, .delaySeconds, .processingSeconds] {
                guard let value = try container.decodeIfPresent(Double.self, forKey: key) else { continue }
                guard value.isFinite, value >= 0 else {
                    throw DecodingError.dataCorruptedError(
                        forKey: key, in: container, debugDescription: "\(key.stringValue) must be a finite number ≥ 0, not \(value)")
                }
                switch key {
                case .queueSeconds: self.queueSeconds = value
                case .delaySeconds: self.delaySeconds = value
                default: self.processingSeconds = value
                }
            }
        }

        /// Encodes every key, absent values as `null`, so that consumers see a fixed shape.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.input, forKey: .input)
            try container.encode(self.output, forKey: .output)
            try container.encode(self.status, forKey: .status)
            try container.encode(self.node, forKey: .node)
            try container.encode(self.attempts, forKey: .attempts)
            try container.encode(self.rejections, forKey: .rejections)
            try container.encode(self.delayed, forKey: .delayed)
            try container.encode(self.elapsed, forKey: .elapsed)
            try container.encode(self.error, forKey: .error)
            try container.encode(self.lostAttempts, forKey: .lostAttempts)
            try container.encode(self.inputSize, forKey: .inputSize)
            try container.encode(self.inputModifiedNanoseconds, forKey: .inputModifiedNanoseconds)
            try container.encode(self.outputSize, forKey: .outputSize)
            try container.encode(self.queueSeconds, forKey: .queueSeconds)
            try container.encode(self.delaySeconds, forKey: .delaySeconds)
            try container.encode(self.processingSeconds, forKey: .processingSeconds)
        }
    }

    /// Totals over ``tasks``.
    public struct Counts: Sendable, Codable, Hashable {
        public var total: Int = 0
        public var succeeded: Int = 0
        public var failed: Int = 0
        public var skipped: Int = 0
        public var cancelled: Int = 0
        /// Rejected placements over all tasks.
        public var rejections: Int = 0
        /// Tasks whose node injected the load delay.
        public var delayed: Int = 0

        public init() {}

        public init(_ tasks: some Sequence<Task>) {
            self.add(tasks)
        }

        /// Counts `tasks` too.
        public mutating func add(_ tasks: some Sequence<Task>) {
            for task in tasks {
                self.total += 1
                switch task.status {
                case .succeeded: self.succeeded += 1
                case .failed: self.failed += 1
                case .skipped: self.skipped += 1
                case .cancelled: self.cancelled += 1
                }
                self.rejections += task.rejections
                if task.delayed { self.delayed += 1 }
            }
        }
    }

    public var jobID: JobID
    public var status: JobStatus
    /// The input directory, relative to the storage root.
    public var input: String
    /// The output directory, relative to the storage root.
    public var output: String
    /// The canonical pipeline spec.
    public var pipeline: String
    public var tasks: [Task]
    public var counts: Counts
    /// Seconds from the request to the receipt.
    public var elapsed: Double
    /// A one-line summary, or why the job failed as a whole.
    public var message: String
    /// Seconds from the first task's dispatch to the last task's end in this run (`nil`:
    /// nothing ran, or a receipt from before the field existed).
    public var makespan: Double?
    /// Percentiles of the run tasks' ``Task/elapsed`` (first placement to final answer); `nil`
    /// when no task ran.
    public var taskLatency: LatencyPercentiles?

    /// Percentiles of task latency, in seconds (nearest rank).
    public struct LatencyPercentiles: Sendable, Codable, Hashable {
        public var p50: Double
        public var p95: Double
        public var p99: Double

        public init(p50: Double, p95: Double, p99: Double) {
            self.p50 = p50
            self.p95 = p95
            self.p99 = p99
        }

        /// The nearest-rank percentiles of `samples`; `nil` when empty.
        public init?(_ samples: [Double]) {
            guard !samples.isEmpty else { return nil }
            let sorted = samples.sorted()
            func rank(_ p: Double) -> Double {
                sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
            }
            self.init(p50: rank(0.50), p95: rank(0.95), p99: rank(0.99))
        }
    }

    public init(
        jobID: JobID, status: JobStatus, input: String, output: String, pipeline: String, tasks: [Task],
        elapsed: Double, message: String
    ) {
        self.jobID = jobID
        self.status = status
        self.input = input
        self.output = output
        self.pipeline = pipeline
        self.tasks = tasks
        self.counts = Counts(tasks)
        self.elapsed = elapsed
        self.message = message
    }
}
