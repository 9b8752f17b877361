import DistributedImaging
import DistributedImagingGRPC
import Testing

/// The same assertions against every transport: what the server and client see must not depend
/// on how they reach each other.
@Suite("Transport conformance", .timeLimit(.minutes(1)))
struct TransportConformanceTests {
    static let tasks: [TaskRequest] = [
        TaskRequest(
            jobID: JobID("job-1"), taskIndex: 0, inputPath: "photos/a.png", outputPath: "photos-out/a.png",
            pipeline: "grayscale"),
        TaskRequest(
            jobID: JobID("job-1"), taskIndex: 7, inputPath: "photos/bad.jpg", outputPath: "photos-out/bad.jpg",
            pipeline: "grayscale | invert", outputFormat: .jpeg(quality: 80), attempt: 3),
        TaskRequest(
            jobID: JobID("job-1"), taskIndex: 2, inputPath: "photos/reject-me.png", outputPath: "out/x.png",
            pipeline: "identity", outputFormat: .png(compressionLevel: 0), attempt: 2),
    ]

    @Test("A task's receipt arrives unchanged", arguments: TransportKind.allCases, Self.tasks)
    func taskRoundTrip(kind: TransportKind, task: TaskRequest) async throws {
        let executor = FakeExecutor()
        let expected = await FakeExecutor().execute(task)
        let receipt = try await kind.withNodeConnection(to: executor) { connection in
            #expect(connection.node == executor.node)
            return try await connection.run(task)
        }
        #expect(receipt == expected)
        #expect(executor.calls.withLock { $0 } == [task], "the node sees the request as sent, format included")
    }

    @Test("Concurrent tasks all get their own receipt", arguments: TransportKind.allCases)
    func concurrentTasks(kind: TransportKind) async throws {
        let executor = FakeExecutor()
        let receipts = try await kind.withNodeConnection(to: executor) { connection in
            try await withThrowingTaskGroup(of: TaskReceipt.self) { group in
                for index in 0..<32 {
                    group.addTask {
                        try await connection.run(
                            TaskRequest(
                                jobID: JobID("j"), taskIndex: index, inputPath: "in/\(index).png",
                                outputPath: "out/\(index).png", pipeline: "identity"))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        #expect(receipts.map(\.taskIndex).sorted() == Array(0..<32))
        #expect(receipts.allSatisfy { $0.status == .succeeded && $0.node == executor.node })
    }

    @Test("A job streams its events in order and ends with the receipt", arguments: TransportKind.allCases)
    func jobEvents(kind: TransportKind) async throws {
        let request = JobRequest(
            inputDirectory: "photos", outputDirectory: "edges", pipeline: "grayscale | invert",
            outputFormat: .jpeg(quality: 90), recursive: true)
        let log = EventLog()
        let receipt = try await kind.withSubmitter(serving: FakeSubmitter()) { submitter in
            try await submitter.submit(request) { log.append($0) }
        }
        let expected = FakeSubmitter.receipt(for: request)
        #expect(receipt == expected)
        #expect(receipt.counts == expected.counts)
        let events = log.events
        #expect(events.count == 8)
        #expect(events.first == .started(jobID: expected.jobID, tasks: 2, skipped: 1))
        #expect(events.last == .finished(expected))
        #expect(events.contains(.rejected(taskIndex: 0, input: "photos/a.png", node: NodeID("n1"), attempt: 1, reason: "busy")))
    }

    @Test("A job with default settings keeps its defaults", arguments: TransportKind.allCases)
    func jobDefaults(kind: TransportKind) async throws {
        let request = JobRequest(inputDirectory: "photos")
        let receipt = try await kind.withSubmitter(serving: FakeSubmitter()) { try await $0.submit(request) }
        #expect(receipt == FakeSubmitter.receipt(for: request))
        #expect(receipt.output == "photos-out")
        #expect(receipt.pipeline == JobRequest.defaultPipeline)
    }

    @Test(
        "A refused job throws the server's error code",
        arguments: TransportKind.allCases,
        [
            (JobRequest(inputDirectory: "/etc"), DistributedImagingError.Code.pathOutsideStorageRoot),
            (JobRequest(inputDirectory: "photos", pipeline: "nonsense"), .invalidPipeline),
        ])
    func refusedJob(kind: TransportKind, refused: (request: JobRequest, code: DistributedImagingError.Code)) async throws {
        let error = await #expect(throws: DistributedImagingError.self) {
            try await kind.withSubmitter(serving: FakeSubmitter()) { try await $0.submit(refused.request) }
        }
        #expect(error?.code == refused.code)
        #expect(error?.message.isEmpty == false)
    }
}
