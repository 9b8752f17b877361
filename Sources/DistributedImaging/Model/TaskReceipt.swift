/// How one attempt at a task ended on a node.
public enum TaskStatus: String, Sendable, Codable, Hashable, CaseIterable {
    /// The node processed the image and wrote the output.
    case succeeded
    /// The node accepted the task but could not complete it (bad image, write error, …).
    case failed
    /// The node declined the task (its scheduling policy, or it is draining); the server places
    /// it again.
    case rejected
}

/// A node's answer to one ``TaskRequest``.
public struct TaskReceipt: Sendable, Codable, Hashable {
    /// The job the task belongs to.
    public var jobID: JobID
    /// The task's index in its job.
    public var taskIndex: Int
    /// The attempt this receipt answers.
    public var attempt: Int
    /// What happened.
    public var status: TaskStatus
    /// The node that answered.
    public var node: NodeID
    /// Seconds from receipt of the request to the answer, including any injected delay.
    public var elapsed: Double
    /// Whether the node injected the load delay before processing.
    public var delayed: Bool
    /// Why the task failed or was rejected.
    public var error: String?
    /// Seconds the accepted task waited in the node's queue for a slot (`nil`: not reported,
    /// or the task was rejected).
    public var queueSeconds: Double?
    /// Seconds of injected delay it waited once it held a slot (`nil`: not reported).
    public var delaySeconds: Double?
    /// Seconds of processing — read, decode, filter, encode, write (`nil`: not reported).
    public var processingSeconds: Double?

    public init(
        jobID: JobID,
        taskIndex: Int,
        attempt: Int,
        status: TaskStatus,
        node: NodeID,
        elapsed: Double = 0,
        delayed: Bool = false,
        error: String? = nil
    ) {
        self.jobID = jobID
        self.taskIndex = taskIndex
        self.attempt = attempt
        self.status = status
        self.node = node
        self.elapsed = elapsed
        self.delayed = delayed
        self.error = error
    }

    /// Where an accepted task's time went on the node; each part is `nil` when unknown.
    public struct Timing: Sendable, Hashable {
        public var queueSeconds: Double?
        public var delaySeconds: Double?
        public var processingSeconds: Double?

        public init(queueSeconds: Double? = nil, delaySeconds: Double? = nil, processingSeconds: Double? = nil) {
            self.queueSeconds = queueSeconds
            self.delaySeconds = delaySeconds
            self.processingSeconds = processingSeconds
        }
    }

    /// The queue wait, injected delay and processing time.
    public var timing: Timing {
        get { Timing(queueSeconds: self.queueSeconds, delaySeconds: self.delaySeconds, processingSeconds: self.processingSeconds) }
        set {
            self.queueSeconds = newValue.queueSeconds
            self.delaySeconds = newValue.delaySeconds
            self.processingSeconds = newValue.processingSeconds
        }
    }
}

extension TaskReceipt {
    /// A receipt for `request`, answered by `node`.
    public init(for request: TaskRequest, status: TaskStatus, node: NodeID, elapsed: Double = 0, delayed: Bool = false, error: String? = nil) {
        self.init(
            jobID: request.jobID, taskIndex: request.taskIndex, attempt: request.attempt, status: status,
            node: node, elapsed: elapsed, delayed: delayed, error: error)
    }
}
