/// Something that happened while a job ran; streamed from the server to the client.
///
/// The last event of every job is ``finished(_:)``.
///
/// Its JSON form (what `dip-client submit --events jsonl` prints, one object per line) is a
/// flat object whose `"event"` key names the case; the other keys are the case's values:
///
/// ```json
/// {"event":"started","jobID":"3f2a…","tasks":12,"skipped":1}
/// {"event":"placed","taskIndex":0,"input":"photos/a.jpg","node":"node-1","attempt":1}
/// {"event":"rejected","taskIndex":0,"input":"photos/a.jpg","node":"node-1","attempt":1,"reason":"…"}
/// {"event":"completed","task":{…one JobReceipt.Task…}}
/// {"event":"finished","receipt":{…the JobReceipt…}}
/// {"event":"snapshot","job":{…the JobRecord…}}
/// ```
///
/// A watcher that attaches to a running job (``ImagingServer/watch(_:)``) first gets
/// ``snapshot(_:)``: the job's record with its counts so far.
///
/// Decoding refuses an unknown `"event"` value with `DecodingError.dataCorrupted`.
public enum JobEvent: Sendable, Codable, Hashable {
    /// The server listed the input: `tasks` images to process, `skipped` other files.
    case started(jobID: JobID, tasks: Int, skipped: Int)
    /// A task was sent to a node.
    case placed(taskIndex: Int, input: String, node: NodeID, attempt: Int)
    /// A node declined a task; it will be placed again unless attempts ran out.
    case rejected(taskIndex: Int, input: String, node: NodeID, attempt: Int, reason: String)
    /// A task ended (succeeded or failed for good).
    case completed(JobReceipt.Task)
    /// The job ended; this is the last event.
    case finished(JobReceipt)
    /// The job as it stands when a watcher attaches: its record and counts so far.
    case snapshot(JobRecord)
}

extension JobEvent {
    /// Which of a job's events a follower wants (`SubmitJob` and `WatchJob` ask for one).
    public enum Selection: Sendable, Hashable {
        /// Every event.
        case all
        /// ``started(jobID:tasks:skipped:)``, ``snapshot(_:)``, ``finished(_:)`` and the
        /// ``completed(_:)`` events of tasks that failed: what a follower that shows no progress
        /// prints (`dip-client --quiet`), without a message per placement and per task.
        case failures
    }

    /// Whether a follower that asked for `selection` gets this event.
    public func isSelected(by selection: Selection) -> Bool {
        switch (selection, self) {
        case (.all, _), (.failures, .started), (.failures, .snapshot), (.failures, .finished): true
        case (.failures, .completed(let task)): task.status == .failed
        case (.failures, .placed), (.failures, .rejected): false
        }
    }
}

extension JobEvent {
    /// The values of the `"event"` discriminator.
    private enum Kind: String, Codable {
        case started, placed, rejected, completed, finished, snapshot
    }

    private enum CodingKeys: String, CodingKey {
        case event, jobID, tasks, skipped, taskIndex, input, node, attempt, reason, task, receipt, job
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let name = try container.decode(String.self, forKey: .event)
        guard let kind = Kind(rawValue: name) else {
            throw DecodingError.dataCorruptedError(
                forKey: .event, in: container,
                debugDescription: "unknown event '\(name)' (expected started, placed, rejected, completed, finished or snapshot)")
        }
        switch kind {
        case .started:
            self = .started(
                jobID: try container.decode(JobID.self, forKey: .jobID),
                tasks: try container.decode(Int.self, forKey: .tasks),
                skipped: try container.decode(Int.self, forKey: .skipped))
        case .placed:
            self = .placed(
                taskIndex: try container.decode(Int.self, forKey: .taskIndex),
                input: try container.decode(String.self, forKey: .input),
                node: try container.decode(NodeID.self, forKey: .node),
                attempt: try container.decode(Int.self, forKey: .attempt))
        case .rejected:
            self = .rejected(
                taskIndex: try container.decode(Int.self, forKey: .taskIndex),
                input: try container.decode(String.self, forKey: .input),
                node: try container.decode(NodeID.self, forKey: .node),
                attempt: try container.decode(Int.self, forKey: .attempt),
                reason: try container.decode(String.self, forKey: .reason))
        case .completed:
            self = .completed(try container.decode(JobReceipt.Task.self, forKey: .task))
        case .finished:
            self = .finished(try container.decode(JobReceipt.self, forKey: .receipt))
        case .snapshot:
            self = .snapshot(try container.decode(JobRecord.self, forKey: .job))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .started(let jobID, let tasks, let skipped):
            try container.encode(Kind.started, forKey: .event)
            try container.encode(jobID, forKey: .jobID)
            try container.encode(tasks, forKey: .tasks)
            try container.encode(skipped, forKey: .skipped)
        case .placed(let taskIndex, let input, let node, let attempt):
            try container.encode(Kind.placed, forKey: .event)
            try container.encode(taskIndex, forKey: .taskIndex)
            try container.encode(input, forKey: .input)
            try container.encode(node, forKey: .node)
            try container.encode(attempt, forKey: .attempt)
        case .rejected(let taskIndex, let input, let node, let attempt, let reason):
            try container.encode(Kind.rejected, forKey: .event)
            try container.encode(taskIndex, forKey: .taskIndex)
            try container.encode(input, forKey: .input)
            try container.encode(node, forKey: .node)
            try container.encode(attempt, forKey: .attempt)
            try container.encode(reason, forKey: .reason)
        case .completed(let task):
            try container.encode(Kind.completed, forKey: .event)
            try container.encode(task, forKey: .task)
        case .finished(let receipt):
            try container.encode(Kind.finished, forKey: .event)
            try container.encode(receipt, forKey: .receipt)
        case .snapshot(let record):
            try container.encode(Kind.snapshot, forKey: .event)
            try container.encode(record, forKey: .job)
        }
    }
}
