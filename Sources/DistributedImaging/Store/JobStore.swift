public import Foundation

/// Where a server keeps its jobs: each job's request, plan and status, and each task's outcome
/// as it happens, so that jobs can be listed, watched after they end, and resumed after a
/// restart.
///
/// A store is local to one server (never on the shared storage). The server writes through one
/// writer at a time and batches task changes (``apply(_:)``), so an implementation may assume
/// that calls do not overlap; reads may come from any task.
///
/// Two implementations ship: ``InMemoryJobStore`` (the embedded cluster's default; nothing
/// survives the process) and `SQLiteJobStore` (durable, one file in the server's state
/// directory).
public protocol JobStore: Sendable {
    /// Stores a new job, status ``JobRecord/State/running``, with the tasks it will run and the
    /// entries it skipped.
    ///
    /// - Throws: when the job cannot be stored (the job is then refused).
    func create(_ job: JobRecord, tasks: [PlannedTask], skipped: [JobReceipt.Task]) async throws

    /// Records a batch of task changes in one write. Changes for jobs the store does not hold
    /// are ignored.
    func apply(_ changes: [JobStoreChange]) async throws

    /// Marks a job ended: its final status, message, elapsed running time and the makespan of
    /// its last run (`nil` when nothing ran).
    func finish(
        _ id: JobID, state: JobRecord.State, message: String, finished: Date, elapsed: Double, makespan: Double?
    ) async throws

    /// Every job, newest first, with its counts.
    func jobs() async throws -> [JobRecord]

    /// One job with everything needed to resume it or rebuild its receipt; `nil` when the store
    /// does not hold it.
    func load(_ id: JobID) async throws -> StoredJob?

    /// Deletes the jobs that ended before `date`.
    ///
    /// - Returns: How many jobs were deleted.
    @discardableResult
    func prune(endedBefore date: Date) async throws -> Int
}

/// A job's record: what was asked, where it stands, and its counts.
///
/// Its JSON form (`dip-client jobs --json`, the `snapshot` event) names the id `jobID` and the
/// state `status`, as a receipt does, and gives times in seconds since 1970.
public struct JobRecord: Sendable, Hashable, Codable {
    /// Where a job stands: ``JobStatus/running`` until it ends.
    public typealias State = JobStatus

    /// The job's id.
    public var id: JobID
    /// The request as the client sent it.
    public var request: JobRequest
    /// Where it stands.
    public var state: State
    /// The input directory, relative to the storage root, symbolic links resolved.
    public var input: String
    /// The output directory, resolved likewise.
    public var output: String
    /// The canonical pipeline.
    public var pipeline: String
    /// Tasks to run (images not skipped).
    public var tasks: Int
    /// Entries not run (already complete, not images, directories).
    public var skipped: Int
    /// Tasks that succeeded so far.
    public var succeeded: Int
    /// Tasks that failed so far (cancelled tasks count here too once the job ended).
    public var failed: Int
    /// When the server accepted the job.
    public var submitted: Date
    /// When it ended; `nil` while it runs.
    public var ended: Date?
    /// The job's summary line once it ended; empty while it runs.
    public var message: String
    /// Seconds it ran, once it ended (a restart's downtime is not counted).
    public var elapsed: Double
    /// Seconds from its last run's first dispatch to its last task's end (`nil`: nothing ran,
    /// not ended, or stored before the store kept it).
    public var makespan: Double?

    public init(
        id: JobID, request: JobRequest, state: State = .running, input: String, output: String, pipeline: String,
        tasks: Int, skipped: Int, succeeded: Int = 0, failed: Int = 0, submitted: Date, ended: Date? = nil,
        message: String = "", elapsed: Double = 0
    ) {
        self.id = id
        self.request = request
        self.state = state
        self.input = input
        self.output = output
        self.pipeline = pipeline
        self.tasks = tasks
        self.skipped = skipped
        self.succeeded = succeeded
        self.failed = failed
        self.submitted = submitted
        self.ended = ended
        self.message = message
        self.elapsed = elapsed
    }
}

extension JobRecord {
    private enum CodingKeys: String, CodingKey {
        case jobID, request, status, input, output, pipeline, tasks, skipped, succeeded, failed, submitted, ended
        case message, elapsed, makespan
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try container.decode(JobID.self, forKey: .jobID), request: try container.decode(JobRequest.self, forKey: .request),
            state: try container.decode(JobStatus.self, forKey: .status), input: try container.decode(String.self, forKey: .input),
            output: try container.decode(String.self, forKey: .output),
            pipeline: try container.decode(String.self, forKey: .pipeline), tasks: try container.decode(Int.self, forKey: .tasks),
            skipped: try container.decode(Int.self, forKey: .skipped), succeeded: try container.decode(Int.self, forKey: .succeeded),
            failed: try container.decode(Int.self, forKey: .failed),
            submitted: Date(timeIntervalSince1970: try container.decode(Double.self, forKey: .submitted)),
            ended: try container.decodeIfPresent(Double.self, forKey: .ended).map(Date.init(timeIntervalSince1970:)),
            message: try container.decode(String.self, forKey: .message), elapsed: try container.decode(Double.self, forKey: .elapsed))
        self.makespan = try container.decodeIfPresent(Double.self, forKey: .makespan)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.id, forKey: .jobID)
        try container.encode(self.request, forKey: .request)
        try container.encode(self.state, forKey: .status)
        try container.encode(self.input, forKey: .input)
        try container.encode(self.output, forKey: .output)
        try container.encode(self.pipeline, forKey: .pipeline)
        try container.encode(self.tasks, forKey: .tasks)
        try container.encode(self.skipped, forKey: .skipped)
        try container.encode(self.succeeded, forKey: .succeeded)
        try container.encode(self.failed, forKey: .failed)
        try container.encode(self.submitted.timeIntervalSince1970, forKey: .submitted)
        try container.encodeIfPresent(self.ended?.timeIntervalSince1970, forKey: .ended)
        try container.encode(self.message, forKey: .message)
        try container.encode(self.elapsed, forKey: .elapsed)
        try container.encodeIfPresent(self.makespan, forKey: .makespan)
    }
}

/// One task of a stored job, as planned: its index and paths.
public struct PlannedTask: Sendable, Hashable, Codable {
    /// The task's index in the job.
    public var index: Int
    /// The input image, relative to the storage root.
    public var input: String
    /// The output file, relative to the storage root.
    public var output: String

    public init(index: Int, input: String, output: String) {
        self.index = index
        self.input = input
        self.output = output
    }
}

/// A change to one task of a stored job.
public enum JobStoreChange: Sendable, Hashable {
    /// The task was sent to `node` (its `attempt`-th placement): if the server stops now, the
    /// task was in flight there.
    case placed(JobID, taskIndex: Int, node: NodeID, attempt: Int)
    /// The task ended (succeeded, failed or cancelled) with this entry of the receipt.
    case completed(JobID, taskIndex: Int, JobReceipt.Task)
}

/// Everything a store holds about one job.
public struct StoredJob: Sendable, Hashable {
    /// The record.
    public var record: JobRecord
    /// The planned tasks, by index.
    public var tasks: [PlannedTask]
    /// The entries the job did not run.
    public var skipped: [JobReceipt.Task]
    /// The tasks that ended, by index.
    public var outcomes: [Int: JobReceipt.Task]
    /// The last placement recorded for each task that had not ended: node and attempt.
    public var inFlight: [Int: Attempt]

    /// Where a task was last sent.
    public struct Attempt: Sendable, Hashable {
        public var node: NodeID
        public var attempt: Int
        public init(node: NodeID, attempt: Int) {
            self.node = node
            self.attempt = attempt
        }
    }

    public init(
        record: JobRecord, tasks: [PlannedTask], skipped: [JobReceipt.Task], outcomes: [Int: JobReceipt.Task] = [:],
        inFlight: [Int: Attempt] = [:]
    ) {
        self.record = record
        self.tasks = tasks
        self.skipped = skipped
        self.outcomes = outcomes
        self.inFlight = inFlight
    }
}
