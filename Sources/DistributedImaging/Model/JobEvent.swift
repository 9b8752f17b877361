/// Something that happened while a job ran; streamed from the server to the client.
///
/// The last event of every job is ``finished(_:)``.
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
}
