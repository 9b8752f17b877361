/// The server's order to a node: process one image.
///
/// Only paths travel, relative to the shared storage root; each node resolves them under its
/// own mount of the storage.
public struct TaskRequest: Sendable, Codable, Hashable {
    /// The job this task belongs to.
    public var jobID: JobID
    /// The task's index in its job (stable across attempts).
    public var taskIndex: Int
    /// The input image, relative to the storage root.
    public var inputPath: String
    /// The output file, relative to the storage root.
    public var outputPath: String
    /// The canonical pipeline spec.
    public var pipeline: String
    /// How to encode the output.
    public var outputFormat: OutputFormat
    /// 1 for the first placement, 2 for the next, ….
    public var attempt: Int
    /// The longest the node may spend on the task once it holds a slot (injected delay and
    /// processing; the wait in the node's queue is not counted); `nil` for no limit.
    ///
    /// Past it the node answers ``TaskStatus/failed`` with the reason. Set by the server from
    /// ``ServerConfiguration/taskTimeout``.
    public var runTimeout: Duration?

    public init(
        jobID: JobID,
        taskIndex: Int,
        inputPath: String,
        outputPath: String,
        pipeline: String,
        outputFormat: OutputFormat = .png,
        attempt: Int = 1,
        runTimeout: Duration? = nil
    ) {
        self.jobID = jobID
        self.taskIndex = taskIndex
        self.inputPath = inputPath
        self.outputPath = outputPath
        self.pipeline = pipeline
        self.outputFormat = outputFormat
        self.attempt = attempt
        self.runTimeout = runTimeout
    }
}
