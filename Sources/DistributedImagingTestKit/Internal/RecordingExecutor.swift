import DistributedImaging
import Synchronization

/// A node double: records every task it is given and answers with `answer`.
final class RecordingExecutor: TaskExecutor {
    let node: NodeID
    private let answer: @Sendable (TaskRequest, NodeID) async -> TaskReceipt
    private let recorded = Mutex<[TaskRequest]>([])

    init(_ name: String, answer: @escaping @Sendable (TaskRequest, NodeID) async -> TaskReceipt = RecordingExecutor.answer) {
        self.node = NodeID(name)
        self.answer = answer
    }

    /// Every task given so far, in order of arrival.
    var calls: [TaskRequest] { self.recorded.withLock { $0 } }

    func execute(_ task: TaskRequest) async -> TaskReceipt {
        self.recorded.withLock { $0.append(task) }
        return await self.answer(task, self.node)
    }

    /// The answer to `task` by name: an input containing "reject" is rejected, one containing
    /// "fail" failed, any other succeeded; every field of the receipt depends on the task.
    @Sendable static func answer(_ task: TaskRequest, node: NodeID) -> TaskReceipt {
        let elapsed = Double(task.taskIndex % 1000) / 8 + 0.125
        if task.inputPath.contains("reject") {
            return TaskReceipt(
                for: task, status: .rejected, node: node, elapsed: elapsed,
                error: "load 0.75 is over the threshold on '\(node)' — ü")
        }
        if task.inputPath.contains("fail") {
            return TaskReceipt(
                for: task, status: .failed, node: node, elapsed: elapsed, delayed: true,
                error: "'\(task.inputPath)' is not a PNG or JPEG image\n(second line: 画像)")
        }
        return TaskReceipt(for: task, status: .succeeded, node: node, elapsed: elapsed, delayed: task.attempt > 1)
    }
}

/// What the node checks send: every field set, and set differently.
enum SampleTasks {
    static let varied: [TaskRequest] = [
        TaskRequest(
            jobID: JobID("job-1"), taskIndex: 0, inputPath: "photos/a.png", outputPath: "photos-out/a.png",
            pipeline: "grayscale"),
        TaskRequest(
            jobID: JobID("3f2a9c-job ü"), taskIndex: 7, inputPath: "in/a b/ü 画像.jpg", outputPath: "out/a b/ü 画像.jpg",
            pipeline: "grayscale | gaussian(sigma: 2.5)", outputFormat: .jpeg(quality: 80), attempt: 3,
            runTimeout: .milliseconds(1500)),
        TaskRequest(
            jobID: JobID("job-2"), taskIndex: 123_456, inputPath: "deep/x/y/z.png", outputPath: "o/z.png",
            pipeline: "identity", outputFormat: .png(compressionLevel: 0), attempt: 40, runTimeout: .seconds(600)),
        TaskRequest(
            jobID: JobID("job-3"), taskIndex: 1, inputPath: "p/please-reject-me.png", outputPath: "q/r.png",
            pipeline: "invert", outputFormat: .png(compressionLevel: 9), attempt: 2),
        TaskRequest(
            jobID: JobID("job-3"), taskIndex: 2, inputPath: "p/will-fail.jpg", outputPath: "q/s.jpg",
            pipeline: "edges", outputFormat: .jpeg(quality: 1), runTimeout: .seconds(7 * 86_400)),
    ]

    static func plain(_ index: Int, input: String = "in", job: String = "job-n") -> TaskRequest {
        TaskRequest(
            jobID: JobID(job), taskIndex: index, inputPath: "\(input)/\(index).png", outputPath: "out/\(index).png",
            pipeline: "identity")
    }
}
