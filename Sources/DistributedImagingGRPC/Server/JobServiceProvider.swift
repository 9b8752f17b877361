public import DistributedImaging
public import GRPCCore
public import Logging
import Synchronization
import SwiftProtobuf

/// Serves any ``DistributedImaging/JobSubmitter`` as `dip.v1.JobService`: the server side of
/// `dip-client submit`, `wait`, `jobs` and `cancel`.
///
/// Each `SubmitJob` call runs one job; every ``DistributedImaging/JobEvent`` is written to the
/// response stream in order, the receipt last. A job refused as a whole ends the call with the
/// status that matches its ``DistributedImaging/DistributedImagingError`` (and the library code in the
/// `dip-error-code` trailer). Cancelling the call cancels the job. `StartJob` answers with the
/// job's id once stored; `WatchJob` streams a job's events from a snapshot (cancelling it only
/// detaches); `ListJobs` and `CancelJob` do what they say.
public struct JobServiceProvider: Dip_V1_JobService.SimpleServiceProtocol {
    private let submitter: any JobSubmitter
    private let logger: Logger

    /// Serves `submitter`.
    ///
    /// - Parameters:
    ///   - submitter: Runs the jobs (for `dip-server`, the `ImagingServer`).
    ///   - logger: Where refused calls are logged (`debug`).
    public init(submitter: any JobSubmitter, logger: Logger) {
        self.submitter = submitter
        self.logger = logger
    }

    /// Handles `SubmitJob`.
    public func submitJob(
        request: Dip_V1_SubmitJobRequest,
        response: RPCWriter<Dip_V1_SubmitJobResponse>,
        context: ServerContext
    ) async throws {
        try WireProtocol.check(request.protocolVersion, by: "dip-server")
        let job = try JobRequest(request.job)
        try await Self.writingEvents(
            to: response, batched: request.batchedEvents, selection: JobEvent.Selection(request.eventSelection)
        ) { emit in
            let finishedWritten = Atomic<Bool>(false)
            let receipt: JobReceipt
            do {
                let submitter = self.submitter
                receipt = try await cancellingWithRPC(context) {
                    try await submitter.submit(job) { event in
                        if case .finished = event { finishedWritten.store(true, ordering: .relaxed) }
                        await emit(event)
                    }
                }
            } catch let error as DistributedImagingError {
                self.logger.debug(
                    "job refused",
                    metadata: ["dip.error.code": "\(error.code)", "error": "\(error.message)", "peer": "\(context.remotePeer)"])
                throw RPCError(error)
            }
            if !finishedWritten.load(ordering: .relaxed) { await emit(.finished(receipt)) }
        }
    }

    /// Handles `StartJob`.
    public func startJob(
        request: Dip_V1_SubmitJobRequest, context: ServerContext
    ) async throws -> Dip_V1_StartJobResponse {
        try WireProtocol.check(request.protocolVersion, by: "dip-server")
        let job = try JobRequest(request.job)
        let id = try await self.refusing(context) { try await self.submitter.start(job) }
        return .with { $0.jobID = id.rawValue }
    }

    /// Handles `WatchJob`.
    public func watchJob(
        request: Dip_V1_WatchJobRequest, response: RPCWriter<Dip_V1_SubmitJobResponse>, context: ServerContext
    ) async throws {
        try WireProtocol.check(request.protocolVersion, by: "dip-server")
        let events = try await self.refusing(context) { try await self.submitter.watch(JobID(request.jobID)) }
        try await Self.writingEvents(
            to: response, batched: request.batchedEvents, selection: JobEvent.Selection(request.eventSelection)
        ) { emit in
            do {
                for try await event in events { await emit(event) }
            } catch let error as DistributedImagingError {
                throw RPCError(error)
            }
        }
    }

    /// Handles `ListJobs`.
    public func listJobs(request: Dip_V1_ListJobsRequest, context: ServerContext) async throws -> Dip_V1_ListJobsResponse {
        try WireProtocol.check(request.protocolVersion, by: "dip-server")
        let jobs = try await self.refusing(context) { try await self.submitter.jobs() }
        return .with { $0.jobs = jobs.map(Dip_V1_JobRecord.init) }
    }

    /// Handles `CancelJob`.
    public func cancelJob(request: Dip_V1_CancelJobRequest, context: ServerContext) async throws -> Dip_V1_CancelJobResponse {
        try WireProtocol.check(request.protocolVersion, by: "dip-server")
        let record = try await self.refusing(context) { try await self.submitter.cancel(JobID(request.jobID)) }
        return .with { $0.job = Dip_V1_JobRecord(record) }
    }

    /// Runs `body` with a function that sends one job event to `response`, in order.
    ///
    /// Unbatched, each event is its own message, written before the function returns (a write
    /// fails only when the caller went away; the job then ends by cancellation, or the watch by
    /// the RPC's end). Batched, the function only queues the event: a writer alongside `body`
    /// sends everything queued while it was busy as one message (`events`), and `body`'s end
    /// waits for the queue to be written. Events `selection` leaves out are dropped.
    private static func writingEvents(
        to response: RPCWriter<Dip_V1_SubmitJobResponse>, batched: Bool, selection: JobEvent.Selection,
        _ body: (_ emit: @escaping @Sendable (JobEvent) async -> Void) async throws -> Void
    ) async throws {
        guard batched else {
            try await body { event in
                guard event.isSelected(by: selection) else { return }
                try? await response.write(.with { $0.event = Dip_V1_JobEvent(event) })
            }
            return
        }
        let outbox = MessageOutbox<JobEvent>()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var writing = true
                while writing, let batch = await outbox.next() {
                    do {
                        try await response.write(.with { $0.events = batch.map(Dip_V1_JobEvent.init) })
                    } catch {
                        writing = false
                        outbox.finish()
                    }
                }
            }
            // The writer sends what is queued also when `body` fails (a failed watch ends after
            // its events), so wait for it before the group would cancel it.
            var failure: (any Error)?
            do {
                try await body { event in
                    if event.isSelected(by: selection) { outbox.yield(event) }
                }
            } catch {
                failure = error
            }
            outbox.finish()
            try await group.waitForAll()
            if let failure { throw failure }
        }
    }

    /// Runs `body`; a library error becomes the matching RPC status (logged at `debug`).
    private func refusing<T>(_ context: ServerContext, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DistributedImagingError {
            self.logger.debug(
                "call refused",
                metadata: ["dip.error.code": "\(error.code)", "error": "\(error.message)", "peer": "\(context.remotePeer)"])
            throw RPCError(error)
        }
    }
}
