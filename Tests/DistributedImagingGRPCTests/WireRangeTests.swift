import DistributedImaging
@testable import DistributedImagingGRPC
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Synchronization
import Testing

/// Every number that arrives over the wire is range-checked before use: a request out of range
/// is refused with `invalidArgument` naming the field, a response out of range fails the call;
/// nothing traps. Real gRPC on 127.0.0.1.
@Suite("Wire values out of range", .timeLimit(.minutes(1)))
struct WireRangeTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Runs `body` with a raw gRPC client of `services`.
    func withClient<Result: Sendable>(
        _ services: [any RegistrableRPCService],
        _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> Result
    ) async throws -> Result {
        try await withEndpoint(services) { address in
            try await withGRPCClient(
                transport: try HTTP2ClientTransport.Posix(target: address.target, transportSecurity: .plaintext)
            ) { client in try await body(client) }
        }
    }

    /// A storage root with `photos/camera.png`.
    func withStorage(_ body: (SharedStorage) async throws -> Void) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dip-range-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("photos"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.copyItem(
            at: EndToEndTests.corpus.appendingPathComponent("photos/camera.png"),
            to: root.appendingPathComponent("photos/camera.png"))
        try await body(try SharedStorage(root: root.path))
    }

    static func task(index: Int32 = 0, attempt: Int32 = 1, format: Dip_V1_OutputFormat? = nil) -> Dip_V1_RunTaskRequest {
        .with {
            $0.protocolVersion = .protocolVersion1
            $0.task = .with { task in
                task.jobID = "job"
                task.taskIndex = index
                task.attempt = attempt
                task.inputPath = "photos/camera.png"
                task.outputPath = "out/camera.png"
                task.pipeline = "invert"
                if let format { task.outputFormat = format }
            }
        }
    }

    struct TaskCase: Sendable, CustomTestStringConvertible {
        var index: Int32 = 0
        var attempt: Int32 = 1
        var format: Dip_V1_OutputFormat?
        var expected: String
        var testDescription: String { self.expected }
    }

    static let taskCases: [TaskCase] = [
        TaskCase(index: -1, expected: "task_index must be ≥ 0, not -1"),
        TaskCase(index: Int32.min, expected: "task_index must be ≥ 0, not -2147483648"),
        TaskCase(attempt: -1, expected: "attempt must be ≥ 0, not -1"),
        TaskCase(format: .with { $0.kind = .jpeg; $0.quality = Int32.max }, expected: "output_format.quality must be in 1…100"),
        TaskCase(format: .with { $0.kind = .jpeg; $0.quality = -5 }, expected: "output_format.quality must be in 1…100"),
        TaskCase(format: .with { $0.kind = .png; $0.compressionLevel = 99 }, expected: "output_format.compression_level must be in 0…9, not 99"),
        TaskCase(format: .with { $0.kind = .UNRECOGNIZED(99) }, expected: "output_format.kind must be KIND_PNG (1) or KIND_JPEG (2), not 99"),
    ]

    @Test("RunTask out of range is refused by a real node, which goes on serving", arguments: Self.taskCases)
    func runTaskOutOfRange(_ testCase: TaskCase) async throws {
        try await self.withStorage { storage in
            let node = try ImagingNode(
                configuration: NodeConfiguration(name: "n1", policy: .mandatory, load: 0, delay: 0, seed: 1), storage: storage,
                logger: self.logger)
            try await self.withClient([NodeServiceProvider(executor: node)]) { client in
                let service = Dip_V1_NodeService.Client(wrapping: client)
                let error = await #expect(throws: RPCError.self) {
                    _ = try await service.runTask(Self.task(index: testCase.index, attempt: testCase.attempt, format: testCase.format))
                }
                #expect(error?.code == .invalidArgument)
                #expect(error?.message.contains(testCase.expected) == true, "\(String(describing: error?.message))")
                #expect(error?.metadata[stringValues: "dip-error-code"].contains("invalidArgument") == true)
                // The node is alive and did not run the refused task.
                #expect((try? storage.exists("out/camera.png")) != true)
                let response = try await service.runTask(Self.task())
                #expect(response.receipt.status == .succeeded, "\(response.receipt.error)")
            }
        }
    }

    @Test("The node's library API does not trap on a negative index or attempt")
    func libraryNegative() async throws {
        try await self.withStorage { storage in
            let node = try ImagingNode(
                configuration: NodeConfiguration(name: "n1", policy: .mandatory, load: 0, delay: 0, seed: 1), storage: storage,
                logger: self.logger)
            let receipt = await node.execute(
                TaskRequest(
                    jobID: JobID("j"), taskIndex: -1, inputPath: "photos/camera.png", outputPath: "out/x.png",
                    pipeline: "invert", attempt: -1))
            #expect(receipt.status == .succeeded)
        }
    }

    @Test("SubmitJob with an output format out of range is refused before the job starts", arguments: Self.taskCases.filter { $0.format != nil })
    func submitJobFormat(_ testCase: TaskCase) async throws {
        let submitted = EventLog()
        let submitter = RecordingSubmitter(log: submitted)
        try await self.withClient([JobServiceProvider(submitter: submitter, logger: self.logger)]) { client in
            let error = await #expect(throws: RPCError.self) {
                try await Dip_V1_JobService.Client(wrapping: client).submitJob(
                    .with {
                        $0.protocolVersion = .protocolVersion1
                        $0.job.inputDirectory = "photos"
                        if let format = testCase.format { $0.job.outputFormat = format }
                    }
                ) { response in for try await _ in response.messages {} }
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains(testCase.expected) == true, "\(String(describing: error?.message))")
        }
        #expect(submitted.events.isEmpty)
        #expect(submitter.callsValue == 0)
    }

    struct ReceiptCase: Sendable, CustomTestStringConvertible {
        var elapsed: Double = 0.5
        var index: Int32 = 0
        var attempt: Int32 = 1
        var expected: String
        var testDescription: String { self.expected }
    }

    @Test(
        "A node's receipt out of range fails the call, naming the field",
        arguments: [
            ReceiptCase(elapsed: .nan, expected: "elapsed_seconds must be a finite number of seconds ≥ 0, not nan"),
            ReceiptCase(elapsed: .infinity, expected: "elapsed_seconds must be a finite number of seconds ≥ 0, not inf"),
            ReceiptCase(elapsed: -1, expected: "elapsed_seconds must be a finite number of seconds ≥ 0, not -1.0"),
            ReceiptCase(index: -1, expected: "task_index must be ≥ 0, not -1"),
            ReceiptCase(attempt: -7, expected: "attempt must be ≥ 0, not -7"),
        ])
    func receiptOutOfRange(_ testCase: ReceiptCase) async throws {
        let node = BadReceiptNode(elapsed: testCase.elapsed, index: testCase.index, attempt: testCase.attempt)
        try await withEndpoint([node]) { address in
            let connection = try GRPCNodeConnection(node: NodeID("bad"), address: address)
            await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await connection.runConnections() }
                defer { connection.close() }
                let error = await #expect(throws: DistributedImagingError.self) {
                    _ = try await connection.run(TransportConformanceTests.tasks[0])
                }
                #expect(error?.message.contains(testCase.expected) == true, "\(String(describing: error?.message))")
                #expect(node.callsValue == 1)
            }
        }
    }

    @Test(
        "A server's event out of range fails the submission, naming the field",
        arguments: [
            JobEvent.placed(taskIndex: -1, input: "a.png", node: NodeID("n"), attempt: 1),
            JobEvent.started(jobID: JobID("j"), tasks: -3, skipped: 0),
            JobEvent.completed(JobReceipt.Task(input: "a.png", output: "b.png", status: .succeeded, elapsed: .nan)),
        ])
    func eventOutOfRange(_ event: JobEvent) async throws {
        try await withEndpoint([BadEventServer(event: event)]) { address in
            let error = await #expect(throws: DistributedImagingError.self) {
                try await GRPCJobSubmitter.withSubmitter(server: address) { try await $0.submit(JobRequest(inputDirectory: "photos")) }
            }
            let message = error?.message ?? ""
            #expect(
                message.contains("task_index must be ≥ 0, not -1") || message.contains("tasks must be ≥ 0, not -3")
                    || message.contains("elapsed_seconds must be a finite number of seconds ≥ 0, not nan"), "\(message)")
        }
    }

    @Test("receipt.json with a value out of range is refused, naming the key", arguments: ["attempts", "rejections", "elapsed"])
    func receiptFile(key: String) throws {
        let receipt = FakeSubmitter.receipt(for: JobRequest(inputDirectory: "photos"))
        var json = try #require(
            try JSONSerialization.jsonObject(with: Data(JobReceipt.encodeJSON(receipt))) as? [String: Any])
        var tasks = try #require(json["tasks"] as? [[String: Any]])
        tasks[0][key] = -2
        json["tasks"] = tasks
        let bytes = try JSONSerialization.data(withJSONObject: json)
        let error = #expect(throws: DistributedImagingError.self) {
            _ = try JobReceipt.decodeJSON(Array(bytes), source: "receipt.json")
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("\(key) must be") == true, "\(String(describing: error?.message))")
        #expect(error?.message.contains("receipt.json") == true)
    }
}

/// A job service that counts the jobs that reach it.
final class RecordingSubmitter: JobSubmitter {
    let log: EventLog
    let calls = Atomic<Int>(0)
    var callsValue: Int { self.calls.load(ordering: .relaxed) }
    init(log: EventLog) { self.log = log }
    func submit(_ request: JobRequest, onEvent: @escaping @Sendable (JobEvent) async -> Void) async throws -> JobReceipt {
        self.calls.add(1, ordering: .relaxed)
        return try await FakeSubmitter().submit(request) { event in
            self.log.append(event)
            await onEvent(event)
        }
    }
}

/// A node that answers every task with a receipt carrying the given values.
final class BadReceiptNode: Dip_V1_NodeService.SimpleServiceProtocol {
    let elapsed: Double
    let index: Int32
    let attempt: Int32
    let calls = Atomic<Int>(0)
    var callsValue: Int { self.calls.load(ordering: .relaxed) }

    init(elapsed: Double, index: Int32, attempt: Int32) {
        self.elapsed = elapsed
        self.index = index
        self.attempt = attempt
    }

    func runTask(request: Dip_V1_RunTaskRequest, context: ServerContext) async throws -> Dip_V1_RunTaskResponse {
        self.calls.add(1, ordering: .relaxed)
        return .with { $0.receipt = self.receipt(for: request.task) }
    }

    func runTasks(
        request: RPCAsyncSequence<Dip_V1_RunTasksRequest, any Error>, response: RPCWriter<Dip_V1_RunTasksResponse>,
        context: ServerContext
    ) async throws {
        for try await message in request where !message.cancel {
            self.calls.add(1, ordering: .relaxed)
            try await response.write(
                .with {
                    $0.id = message.id
                    $0.receipt = self.receipt(for: message.task)
                })
        }
    }

    func runTaskBatches(
        request: RPCAsyncSequence<Dip_V1_RunTasksRequestBatch, any Error>, response: RPCWriter<Dip_V1_RunTasksResponseBatch>,
        context: ServerContext
    ) async throws {
        for try await batch in request {
            let answers = batch.requests.filter { !$0.cancel }.map { message -> Dip_V1_RunTasksResponse in
                self.calls.add(1, ordering: .relaxed)
                return .with {
                    $0.id = message.id
                    $0.receipt = self.receipt(for: message.task)
                }
            }
            if !answers.isEmpty { try await response.write(.with { $0.responses = answers }) }
        }
    }

    private func receipt(for task: Dip_V1_TaskRequest) -> Dip_V1_TaskReceipt {
        .with { receipt in
            receipt.jobID = task.jobID
            receipt.taskIndex = self.index
            receipt.attempt = self.attempt
            receipt.status = .succeeded
            receipt.node = "bad"
            receipt.elapsedSeconds = self.elapsed
        }
    }
}

/// A server that answers every job with one event, raw (no range checks on the way out).
struct BadEventServer: Dip_V1_JobService.SimpleServiceProtocol {
    let event: JobEvent

    func submitJob(
        request: Dip_V1_SubmitJobRequest, response: RPCWriter<Dip_V1_SubmitJobResponse>, context: ServerContext
    ) async throws {
        try await response.write(.with { $0.event = Dip_V1_JobEvent(self.event) })
        try await response.write(
            .with { $0.event = Dip_V1_JobEvent(.finished(FakeSubmitter.receipt(for: JobRequest(inputDirectory: "photos")))) })
    }
}
