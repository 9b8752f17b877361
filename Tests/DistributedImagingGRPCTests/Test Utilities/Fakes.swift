import DistributedImaging
import Synchronization

/// A node that answers by the input's name: "reject" → rejected, "bad" → failed, else succeeded.
final class FakeExecutor: TaskExecutor {
    let node: NodeID
    let calls = Mutex<[TaskRequest]>([])

    init(node: NodeID = NodeID("fake-node")) {
        self.node = node
    }

    func execute(_ task: TaskRequest) async -> TaskReceipt {
        self.calls.withLock { $0.append(task) }
        if task.inputPath.contains("reject") {
            return TaskReceipt(for: task, status: .rejected, node: self.node, elapsed: 0.001, error: "load too high")
        }
        if task.inputPath.contains("bad") {
            return TaskReceipt(
                for: task, status: .failed, node: self.node, elapsed: 0.25, delayed: true,
                error: "'\(task.inputPath)' is not a PNG or JPEG image")
        }
        return TaskReceipt(for: task, status: .succeeded, node: self.node, elapsed: 0.5, delayed: task.attempt > 1)
    }
}

/// A server that plays a fixed job: started, placed/rejected/completed per file, finished.
struct FakeSubmitter: JobSubmitter {
    func submit(_ request: JobRequest, onEvent: @escaping @Sendable (JobEvent) async -> Void) async throws -> JobReceipt {
        if request.inputDirectory.hasPrefix("/") {
            throw DistributedImagingError(
                code: .pathOutsideStorageRoot, message: "'\(request.inputDirectory)' is outside the storage root")
        }
        if request.pipeline == "nonsense" {
            throw DistributedImagingError(code: .invalidPipeline, message: "unknown filter 'nonsense'")
        }
        let receipt = Self.receipt(for: request)
        await onEvent(.started(jobID: receipt.jobID, tasks: 2, skipped: 1))
        await onEvent(.placed(taskIndex: 0, input: receipt.tasks[0].input, node: NodeID("n1"), attempt: 1))
        await onEvent(
            .rejected(taskIndex: 0, input: receipt.tasks[0].input, node: NodeID("n1"), attempt: 1, reason: "busy"))
        await onEvent(.placed(taskIndex: 0, input: receipt.tasks[0].input, node: NodeID("n2"), attempt: 2))
        await onEvent(.completed(receipt.tasks[0]))
        await onEvent(.placed(taskIndex: 1, input: receipt.tasks[1].input, node: NodeID("n1"), attempt: 1))
        await onEvent(.completed(receipt.tasks[1]))
        await onEvent(.finished(receipt))
        return receipt
    }

    static func receipt(for request: JobRequest) -> JobReceipt {
        let input = request.inputDirectory
        let output = request.outputDirectory ?? "\(input)-out"
        let tasks = [
            JobReceipt.Task(
                input: "\(input)/a.png", output: "\(output)/a.\(request.outputFormat.fileExtension)", status: .succeeded,
                node: NodeID("n2"), attempts: 2, rejections: 1, delayed: true, elapsed: 1.5),
            JobReceipt.Task(
                input: "\(input)/b.jpg", output: "\(output)/b.\(request.outputFormat.fileExtension)", status: .failed,
                node: NodeID("n1"), attempts: 1, elapsed: 0.25, error: "corrupt JPEG"),
            JobReceipt.Task(input: "\(input)/notes.txt", output: nil, status: .skipped, error: "not an image"),
        ]
        return JobReceipt(
            jobID: JobID("job-\(input)"), status: .failed, input: input, output: output, pipeline: request.pipeline,
            tasks: tasks, elapsed: 2.0, message: "1 of 2 tasks failed")
    }
}

/// Collects events in order.
final class EventLog: Sendable {
    private let storage = Mutex<[JobEvent]>([])
    var events: [JobEvent] { self.storage.withLock { $0 } }
    func append(_ event: JobEvent) { self.storage.withLock { $0.append(event) } }
}
