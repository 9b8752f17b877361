import DistributedImaging
@testable import DistributedImagingGRPC
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Synchronization
import Testing

/// `SubmitJob` and `WatchJob` with `batched_events`: several events per message, in order, and
/// one per message for a client that does not ask (an older release).
@Suite("Job events in batches", .timeLimit(.minutes(1)))
struct EventBatchTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// 1 + 2 × 300 + 1 events, emitted without pausing.
    let submitter = BurstSubmitter(count: 300)

    /// Calls `SubmitJob` on `submitter` behind a real endpoint and returns every message.
    func submitMessages(
        batched: Bool, selection: Dip_V1_EventSelection = .all
    ) async throws -> [Dip_V1_SubmitJobResponse] {
        try await withEndpoint([JobServiceProvider(submitter: self.submitter, logger: self.logger)]) { address in
            try await withGRPCClient(
                transport: try HTTP2ClientTransport.Posix(target: address.target, transportSecurity: .plaintext)
            ) { client in
                try await Dip_V1_JobService.Client(wrapping: client).submitJob(
                    .with {
                        $0.protocolVersion = WireProtocol.wireValue
                        $0.job.inputDirectory = "photos"
                        $0.batchedEvents = batched
                        $0.eventSelection = selection
                    }
                ) { response in
                    var messages: [Dip_V1_SubmitJobResponse] = []
                    for try await message in response.messages { messages.append(message) }
                    return messages
                }
            }
        }
    }

    @Test("With batched_events, every event arrives in order, several per message")
    func batched() async throws {
        let messages = try await self.submitMessages(batched: true)
        #expect(messages.allSatisfy { !$0.hasEvent && !$0.events.isEmpty })
        let events = try messages.flatMap { try $0.events.map(JobEvent.init) }
        #expect(events == self.submitter.events)
        // The writer is busy with the first message while the burst is queued behind it.
        #expect(messages.count < events.count)
    }

    @Test("Without batched_events, each message carries one event in `event` (older clients)")
    func unbatched() async throws {
        let messages = try await self.submitMessages(batched: false)
        #expect(messages.allSatisfy { $0.hasEvent && $0.events.isEmpty })
        #expect(try messages.map { try JobEvent($0.event) } == self.submitter.events)
    }

    @Test("GRPCJobSubmitter reads single, batched and mixed messages in order")
    func clientReadsEveryShape() async throws {
        let events = self.submitter.events
        let service = ScriptedJobService(
            messages: [
                .with { $0.event = Dip_V1_JobEvent(events[0]) },
                .with { $0.events = events[1..<4].map(Dip_V1_JobEvent.init) },
                .with {
                    $0.event = Dip_V1_JobEvent(events[4])
                    $0.events = events[5...].map(Dip_V1_JobEvent.init)
                },
            ])
        let log = EventLog()
        let receipt = try await withEndpoint([service]) { address in
            try await GRPCJobSubmitter.withSubmitter(server: address) {
                try await $0.submit(JobRequest(inputDirectory: "photos")) { log.append($0) }
            }
        }
        #expect(log.events == events)
        #expect(receipt == self.submitter.receipt)
        #expect(service.sawBatchedRequest)
    }

    @Test("A message without any event is refused as malformed")
    func emptyMessage() async throws {
        let service = ScriptedJobService(messages: [Dip_V1_SubmitJobResponse()])
        let error = await #expect(throws: DistributedImagingError.self) {
            try await withEndpoint([service]) { address in
                try await GRPCJobSubmitter.withSubmitter(server: address) {
                    try await $0.submit(JobRequest(inputDirectory: "photos"))
                }
            }
        }
        #expect(error?.message.contains("job event without a case") == true)
    }

    @Test("With event_selection failures, only the start, the failed tasks and the end arrive", arguments: [true, false])
    func failuresOnly(batched: Bool) async throws {
        let wanted = self.submitter.events.filter { $0.isSelected(by: .failures) }
        // The burst has placements, rejections, succeeded and failed tasks: the selection drops some of each kind but failures.
        #expect(wanted.count > 2 && wanted.count < self.submitter.events.count / 4)
        #expect(wanted.contains { if case .completed(let task) = $0 { task.status == .failed } else { false } })
        let messages = try await self.submitMessages(batched: batched, selection: .failures)
        let events = try messages.flatMap { try ($0.hasEvent ? [$0.event] : $0.events).map(JobEvent.init) }
        #expect(events == wanted)
    }

    @Test("A selection this server does not know means every event")
    func unknownSelection() async throws {
        let messages = try await self.submitMessages(batched: true, selection: .UNRECOGNIZED(7))
        #expect(try messages.flatMap { try $0.events.map(JobEvent.init) } == self.submitter.events)
    }

    @Test("GRPCJobSubmitter asks for its selection on submit and on watch", arguments: [JobEvent.Selection.all, .failures])
    func submitterSelection(selection: JobEvent.Selection) async throws {
        let service = JobServiceProvider(submitter: self.submitter, logger: self.logger)
        let (submitted, watched) = try await withEndpoint([service]) { address in
            try await GRPCJobSubmitter.withSubmitter(server: address, events: selection) { submitter in
                let log = EventLog()
                _ = try await submitter.submit(JobRequest(inputDirectory: "photos")) { log.append($0) }
                var watched: [JobEvent] = []
                for try await event in try await submitter.watch(JobID("burst")) { watched.append(event) }
                return (log.events, watched)
            }
        }
        let wanted = self.submitter.events.filter { $0.isSelected(by: selection) }
        #expect(submitted == wanted)
        #expect(watched == wanted)
    }

    @Test("A batched watch that fails ends with the job's error after all its events")
    func watchFailsAfterEvents() async throws {
        let service = JobServiceProvider(submitter: self.submitter, logger: self.logger)
        let (events, failure) = try await withEndpoint([service]) { address in
            try await GRPCJobSubmitter.withSubmitter(server: address) { submitter in
                var events: [JobEvent] = []
                do {
                    for try await event in try await submitter.watch(BurstSubmitter.failingJob) { events.append(event) }
                    return (events, DistributedImagingError?.none)
                } catch let error as DistributedImagingError {
                    return (events, error)
                }
            }
        }
        #expect(events == Array(self.submitter.events.dropLast()))
        #expect(failure?.code == .unavailable)
        #expect(failure?.message.contains("server shut down") == true)
    }
}

/// Emits, without pausing between them: `started`, then `placed` and `completed` for each of
/// `count` tasks (every fifth first rejected once, every seventh failed), then `finished`. `watch` gives the same events for any id except
/// ``failingJob``, whose stream ends with an `unavailable` error instead of `finished`.
struct BurstSubmitter: JobSubmitter {
    static let failingJob = JobID("failing")

    let count: Int

    var receipt: JobReceipt {
        JobReceipt(
            jobID: JobID("burst"), status: .failed, input: "photos", output: "photos-out", pipeline: "identity",
            tasks: (0..<self.count).map(Self.task), elapsed: 1, message: "")
    }

    var events: [JobEvent] {
        var events: [JobEvent] = [.started(jobID: JobID("burst"), tasks: self.count, skipped: 0)]
        for index in 0..<self.count {
            let task = Self.task(index)
            if index % 5 == 0 {
                events.append(.placed(taskIndex: index, input: task.input, node: NodeID("n1"), attempt: 1))
                events.append(.rejected(taskIndex: index, input: task.input, node: NodeID("n1"), attempt: 1, reason: "busy"))
            }
            events.append(.placed(taskIndex: index, input: task.input, node: NodeID("n\(index % 2)"), attempt: 1))
            events.append(.completed(task))
        }
        events.append(.finished(self.receipt))
        return events
    }

    static func task(_ index: Int) -> JobReceipt.Task {
        JobReceipt.Task(
            input: "photos/\(index).png", output: "photos-out/\(index).png", status: index % 7 == 3 ? .failed : .succeeded,
            node: NodeID("n\(index % 2)"), attempts: 1, elapsed: 0.001, error: index % 7 == 3 ? "broken" : nil)
    }

    func submit(_ request: JobRequest, onEvent: @escaping @Sendable (JobEvent) async -> Void) async throws -> JobReceipt {
        for event in self.events { await onEvent(event) }
        return self.receipt
    }

    func watch(_ id: JobID) async throws -> AsyncThrowingStream<JobEvent, any Error> {
        let events = self.events
        return AsyncThrowingStream { continuation in
            for event in events.dropLast() { continuation.yield(event) }
            if id == Self.failingJob {
                continuation.finish(throwing: DistributedImagingError(code: .unavailable, message: "the server shut down; job \(id) resumes"))
            } else {
                continuation.yield(events[events.count - 1])
                continuation.finish()
            }
        }
    }
}

/// A `JobService` whose `SubmitJob` writes the same messages to every caller, and remembers
/// whether a caller asked for batched events.
final class ScriptedJobService: Dip_V1_JobService.SimpleServiceProtocol, Sendable {
    let messages: [Dip_V1_SubmitJobResponse]
    private let batchedRequest = Mutex(false)
    var sawBatchedRequest: Bool { self.batchedRequest.withLock { $0 } }

    init(messages: [Dip_V1_SubmitJobResponse]) {
        self.messages = messages
    }

    func submitJob(
        request: Dip_V1_SubmitJobRequest, response: RPCWriter<Dip_V1_SubmitJobResponse>, context: ServerContext
    ) async throws {
        if request.batchedEvents { self.batchedRequest.withLock { $0 = true } }
        try await response.write(contentsOf: self.messages)
    }
}
