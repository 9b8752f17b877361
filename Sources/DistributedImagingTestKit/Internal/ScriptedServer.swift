import DistributedImaging
import Foundation
import Synchronization

/// A server double that plays fixed jobs and keeps fixed records, recording what reached it.
final class ScriptedServer: JobSubmitter {
    private let received = Mutex<[JobRequest]>([])
    /// Yields once a held submission ends: `true` when it was cancelled.
    let heldEnded: AsyncStream<Bool>
    private let heldEndedContinuation: AsyncStream<Bool>.Continuation

    init() {
        (self.heldEnded, self.heldEndedContinuation) = AsyncStream.makeStream(of: Bool.self)
    }

    /// Every request submitted or started, in order.
    var requests: [JobRequest] { self.received.withLock { $0 } }

    /// The input directory of a job that waits to be cancelled.
    static let heldInput = "hold/until-cancelled"
    /// Input directories `refused/0`, `refused/1`, … are refused with these errors.
    static let refusals: [DistributedImagingError] = [
        DistributedImagingError(code: .pathOutsideStorageRoot, message: "'/etc' is outside the storage root '/data'"),
        DistributedImagingError(code: .invalidPipeline, message: "unknown filter 'nonsense' in 'grayscale | nonsense'"),
        DistributedImagingError(code: .invalidArgument, message: "the output directory 'in/out' is inside the input 'in'"),
        DistributedImagingError(code: .notFound, message: "the input directory 'photos/missing' does not exist"),
        DistributedImagingError(code: .invalidConfiguration, message: "the server's storage root is not mounted — ü"),
        DistributedImagingError(code: .unavailable, message: "no node is registered yet: nodes join with 'dip-node'"),
    ]

    func submit(_ request: JobRequest, onEvent: @escaping @Sendable (JobEvent) async -> Void) async throws -> JobReceipt {
        self.received.withLock { $0.append(request) }
        if let refusal = Self.refusal(for: request) { throw refusal }
        if request.inputDirectory == Self.heldInput {
            await onEvent(.started(jobID: JobID("job-held"), tasks: 1, skipped: 0))
            // Only a transport that does not pass the cancellation on reaches the bound.
            do {
                try await Task.sleep(for: .seconds(20))
            } catch {
                self.heldEndedContinuation.yield(true)
                let receipt = JobReceipt(
                    jobID: JobID("job-held"), status: .cancelled, input: request.inputDirectory, output: "out",
                    pipeline: request.pipeline, tasks: [], elapsed: 0.5, message: "cancelled")
                await onEvent(.finished(receipt))
                return receipt
            }
            self.heldEndedContinuation.yield(false)
        }
        let events = Self.events(for: request)
        for event in events { await onEvent(event) }
        return Self.receipt(for: request)
    }

    static func refusal(for request: JobRequest) -> DistributedImagingError? {
        guard request.inputDirectory.hasPrefix("refused/"), let index = Int(request.inputDirectory.dropFirst(8)),
            Self.refusals.indices.contains(index)
        else { return nil }
        return Self.refusals[index]
    }

    /// The receipt of `request`: one task of each outcome, every field set.
    static func receipt(for request: JobRequest) -> JobReceipt {
        let input = request.inputDirectory
        let output = request.outputDirectory ?? "\(input)-out"
        let suffix = request.outputFormat.fileExtension
        let tasks = [
            JobReceipt.Task(
                input: "\(input)/a ü.png", output: "\(output)/a ü.\(suffix)", status: .succeeded, node: NodeID("n2"),
                attempts: 3, rejections: 1, delayed: true, elapsed: 1.5,
                lostAttempts: ["attempt 1 on node 'n3': unreachable: cannot reach dip-node 'n3'"], inputSize: 1_234_567,
                inputModifiedNanoseconds: 1_700_000_000_123_456_789, outputSize: 98_765),
            JobReceipt.Task(
                input: "\(input)/b.jpg", output: "\(output)/b.\(suffix)", status: .failed, node: NodeID("n1"), attempts: 1,
                elapsed: 0.25, error: "corrupt JPEG data: premature end of data segment", inputSize: 17,
                inputModifiedNanoseconds: 1_600_000_000_000_000_000),
            JobReceipt.Task(input: "\(input)/notes.txt", output: nil, status: .skipped, error: "not an image"),
            JobReceipt.Task(input: "\(input)/c.png", output: "\(output)/c.\(suffix)", status: .cancelled),
        ]
        return JobReceipt(
            jobID: JobID("job-\(input)"), status: .failed, input: input, output: output, pipeline: request.pipeline,
            tasks: tasks, elapsed: 2.125, message: "1 of 3 tasks failed")
    }

    /// The events of `request`, in order: started, placements, a rejection, completions, finished.
    static func events(for request: JobRequest) -> [JobEvent] {
        let receipt = Self.receipt(for: request)
        let tasks = receipt.tasks
        return [
            .started(jobID: receipt.jobID, tasks: 3, skipped: 1),
            .placed(taskIndex: 0, input: tasks[0].input, node: NodeID("n3"), attempt: 1),
            .placed(taskIndex: 1, input: tasks[1].input, node: NodeID("n1"), attempt: 1),
            .rejected(taskIndex: 0, input: tasks[0].input, node: NodeID("n1"), attempt: 2, reason: "load 0.9 — busy"),
            .completed(tasks[1]),
            .placed(taskIndex: 0, input: tasks[0].input, node: NodeID("n2"), attempt: 3),
            .completed(tasks[0]),
            .completed(tasks[3]),
            .finished(receipt),
        ]
    }

    // MARK: - Job records

    static let runningRequest = JobRequest(
        inputDirectory: "photos", outputDirectory: "edges", pipeline: "grayscale | invert", outputFormat: .jpeg(quality: 90),
        recursive: true, force: true, only: ["photos/a.png", "photos/sub/b ü.jpg"])
    static let startedID = JobID("job-started-7f3a")

    static let records: [JobRecord] = [
        JobRecord(
            id: JobID("job-running"), request: ScriptedServer.runningRequest, state: .running, input: "photos", output: "edges",
            pipeline: "grayscale | invert", tasks: 12, skipped: 1, succeeded: 5, failed: 1,
            submitted: Date(timeIntervalSince1970: 1_700_000_000.5)),
        JobRecord(
            id: JobID("job-ended"), request: JobRequest(inputDirectory: "old"), state: .failed, input: "old", output: "old-out",
            pipeline: "edges", tasks: 3, skipped: 0, succeeded: 2, failed: 1, submitted: Date(timeIntervalSince1970: 1_699_999_000.25),
            ended: Date(timeIntervalSince1970: 1_699_999_100.75), message: "1 of 3 tasks failed", elapsed: 100.5),
    ]

    static var cancelledRecord: JobRecord {
        var record = Self.records[0]
        record.state = .cancelled
        record.ended = Date(timeIntervalSince1970: 1_700_000_060.25)
        record.message = "cancelled by the client"
        record.elapsed = 59.75
        return record
    }

    /// What watching the running job shows: a snapshot, then its events to the end.
    static var watchedEvents: [JobEvent] {
        let receipt = Self.receipt(for: Self.runningRequest)
        return [.snapshot(Self.records[0]), .completed(receipt.tasks[0]), .finished(receipt)]
    }

    func start(_ request: JobRequest) async throws -> JobID {
        self.received.withLock { $0.append(request) }
        if let refusal = Self.refusal(for: request) { throw refusal }
        return Self.startedID
    }

    func watch(_ id: JobID) async throws -> AsyncThrowingStream<JobEvent, any Error> {
        guard id == Self.records[0].id else { throw Self.unknown(id) }
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: JobEvent.self, throwing: (any Error).self)
        for event in Self.watchedEvents { continuation.yield(event) }
        continuation.finish()
        return stream
    }

    func jobs() async throws -> [JobRecord] { Self.records }

    func cancel(_ id: JobID) async throws -> JobRecord {
        if id == Self.records[0].id { return Self.cancelledRecord }
        if id == Self.records[1].id {
            throw DistributedImagingError(code: .invalidArgument, message: "job 'job-ended' already ended (failed)")
        }
        throw Self.unknown(id)
    }

    static func unknown(_ id: JobID) -> DistributedImagingError {
        DistributedImagingError(code: .notFound, message: "no job '\(id)' on this server")
    }
}
