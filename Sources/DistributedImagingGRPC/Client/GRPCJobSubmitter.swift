public import DistributedImaging
import GRPCCore
import GRPCNIOTransportHTTP2
import Synchronization
import SwiftProtobuf

/// A client of a remote `dip-server`: a ``DistributedImaging/JobSubmitter`` that calls
/// `dip.v1.JobService/SubmitJob` over HTTP/2, streams the job's events and returns its receipt.
///
/// Use it scoped with ``withSubmitter(server:_:)``, or own its lifetime: run
/// ``runConnections()`` in a task and call ``close()`` when done.
///
/// ```swift
/// let receipt = try await GRPCJobSubmitter.withSubmitter(server: PeerAddress(parsing: "127.0.0.1:7000")) {
///     try await $0.submit(JobRequest(inputDirectory: "photos", pipeline: "grayscale"))
/// }
/// ```
public final class GRPCJobSubmitter: JobSubmitter {
    /// The server's address.
    public let server: PeerAddress

    /// The events ``submit(_:onEvent:)`` and ``watch(_:)`` ask the server for.
    public let events: JobEvent.Selection

    private let client: GRPCClient<HTTP2ClientTransport.Posix>
    private let peer: String

    /// Creates a submitter; nothing is dialled until the first call.
    ///
    /// - Parameters:
    ///   - server: The server's address.
    ///   - security: The shared token and TLS settings (default none).
    ///   - timeout: How long the server may stay silent during a job before the job fails with
    ///     `unavailable` (HTTP/2 keepalive; at least 10 s before the ping, then this long for the
    ///     answer); `nil` waits forever.
    ///   - events: The events to ask for (default all); ``DistributedImaging/JobEvent/Selection/failures``
    ///     saves the server a message per placement and per task when nothing shows progress.
    ///     A server of an older release sends all.
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration` when
    ///   the address cannot be resolved.
    public init(
        server: PeerAddress, security: PeerSecurity = .none, timeout: Duration? = nil, events: JobEvent.Selection = .all
    ) throws {
        self.server = server
        self.events = events
        self.peer = "dip-server at \(server)"
        self.client = try security.makeClient(to: server, peer: self.peer, keepalive: timeout)
    }

    /// Runs `body` with a submitter connected to `server`, then closes it.
    public static func withSubmitter<Result: Sendable>(
        server: PeerAddress, security: PeerSecurity = .none, timeout: Duration? = nil, events: JobEvent.Selection = .all,
        _ body: (GRPCJobSubmitter) async throws -> Result
    ) async throws -> Result {
        let submitter = try GRPCJobSubmitter(server: server, security: security, timeout: timeout, events: events)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await submitter.runConnections() }
            defer { submitter.close() }
            let result = try await body(submitter)
            submitter.close()
            try await group.waitForAll()
            return result
        }
    }

    /// Runs the connection until ``close()`` and the calls in flight finish.
    public func runConnections() async throws {
        try await self.client.runConnections()
    }

    /// Stops accepting calls; ``runConnections()`` returns once calls in flight finish.
    public func close() {
        self.client.beginGracefulShutdown()
    }

    /// Runs `request` on the server.
    ///
    /// - Returns: The receipt (the last event of the stream).
    /// - Throws: ``DistributedImaging/DistributedImagingError``: `unavailable` when the server cannot
    ///   be reached or the stream ends without a receipt, `invalidConfiguration` when it speaks
    ///   another protocol revision, and the server's own code when it refuses the job.
    public func submit(
        _ request: JobRequest, onEvent: @escaping @Sendable (JobEvent) async -> Void
    ) async throws -> JobReceipt {
        let service = Dip_V1_JobService.Client(wrapping: self.client)
        let message = Dip_V1_SubmitJobRequest.with {
            $0.protocolVersion = WireProtocol.wireValue
            $0.job = Dip_V1_JobRequest(request)
            $0.clientVersion = WireProtocol.softwareVersion
            $0.batchedEvents = true
            $0.eventSelection = Dip_V1_EventSelection(self.events)
        }
        var options = CallOptions.defaults
        options.waitForReady = false
        let receipt: JobReceipt?
        do {
            receipt = try await service.submitJob(message, options: options) { response in
                var receipt: JobReceipt?
                for try await message in response.messages {
                    for event in try Self.events(in: message) {
                        await onEvent(event)
                        if case .finished(let final) = event { receipt = final }
                    }
                }
                return receipt
            }
        } catch {
            throw DistributedImagingError.fromRPC(error, peer: self.peer)
        }
        guard let receipt else {
            throw DistributedImagingError(
                code: .unavailable, message: "\(self.peer) ended the job's stream without a receipt")
        }
        return receipt
    }

    /// Starts `request` on the server and returns its id once the server stored it.
    ///
    /// - Throws: as ``submit(_:onEvent:)``.
    public func start(_ request: JobRequest) async throws -> JobID {
        let message = Dip_V1_SubmitJobRequest.with {
            $0.protocolVersion = WireProtocol.wireValue
            $0.job = Dip_V1_JobRequest(request)
            $0.clientVersion = WireProtocol.softwareVersion
        }
        let response = try await self.call { try await $0.startJob(message, options: $1) }
        return JobID(response.jobID)
    }

    /// Follows job `id` on the server: a snapshot, then its events, ending with the receipt.
    /// Ending the iteration only detaches; the job runs on.
    ///
    /// - Throws: (from the stream) ``DistributedImaging/DistributedImagingError`` with code
    ///   `notFound` for an unknown id, `unavailable` when the server cannot be reached.
    public func watch(_ id: JobID) async throws -> AsyncThrowingStream<JobEvent, any Error> {
        let service = Dip_V1_JobService.Client(wrapping: self.client)
        let message = Dip_V1_WatchJobRequest.with {
            $0.protocolVersion = WireProtocol.wireValue
            $0.jobID = id.rawValue
            $0.batchedEvents = true
            $0.eventSelection = Dip_V1_EventSelection(self.events)
        }
        let peer = self.peer
        let (stream, continuation) = AsyncThrowingStream<JobEvent, any Error>.makeStream()
        let call = Task {
            var options = CallOptions.defaults
            options.waitForReady = false
            do {
                try await service.watchJob(message, options: options) { response in
                    for try await message in response.messages {
                        for event in try Self.events(in: message) { continuation.yield(event) }
                    }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: DistributedImagingError.fromRPC(error, peer: peer))
            }
        }
        continuation.onTermination = { _ in call.cancel() }
        return stream
    }

    /// Every job the server keeps, newest first.
    public func jobs() async throws -> [JobRecord] {
        let message = Dip_V1_ListJobsRequest.with { $0.protocolVersion = WireProtocol.wireValue }
        let response = try await self.call { try await $0.listJobs(message, options: $1) }
        do {
            return try response.jobs.map { try JobRecord($0) }
        } catch {
            throw DistributedImagingError.fromRPC(error, peer: self.peer)
        }
    }

    /// Cancels job `id` on the server.
    ///
    /// - Returns: The job's record as it stands.
    @discardableResult
    public func cancel(_ id: JobID) async throws -> JobRecord {
        let message = Dip_V1_CancelJobRequest.with {
            $0.protocolVersion = WireProtocol.wireValue
            $0.jobID = id.rawValue
        }
        let response = try await self.call { try await $0.cancelJob(message, options: $1) }
        do {
            return try JobRecord(response.job)
        } catch {
            throw DistributedImagingError.fromRPC(error, peer: self.peer)
        }
    }

    /// The events of one `SubmitJob` or `WatchJob` message, in order: `event`, then `events` (a
    /// server of an older release sends only `event`).
    ///
    /// - Throws: `RPCError` for a malformed event or a message without any (the caller reports it
    ///   as the server's error).
    private static func events(in message: Dip_V1_SubmitJobResponse) throws(RPCError) -> [JobEvent] {
        guard !message.events.isEmpty else { return [try JobEvent(message.event)] }
        let batch = try message.events.map(JobEvent.init)
        return message.hasEvent ? [try JobEvent(message.event)] + batch : batch
    }

    /// Makes one unary call, its errors as library errors.
    private func call<Response: Sendable>(
        _ body: (Dip_V1_JobService.Client<HTTP2ClientTransport.Posix>, CallOptions) async throws -> Response
    ) async throws -> Response {
        var options = CallOptions.defaults
        options.waitForReady = false
        options.timeout = .seconds(30)
        do {
            return try await body(Dip_V1_JobService.Client(wrapping: self.client), options)
        } catch {
            throw DistributedImagingError.fromRPC(error, peer: self.peer)
        }
    }

    /// Asks the server for its status and its nodes.
    public func status(timeout: Duration = .seconds(5)) async throws -> PeerStatus {
        var options = CallOptions.defaults
        options.waitForReady = false
        options.timeout = timeout
        return try await HealthClient.status(of: self.client, options: options, peer: self.peer)
    }

    /// Waits at most `timeout` for the server to answer a status call: a connect timeout for
    /// what follows (a job call itself waits as long as the server is silent within keepalive).
    ///
    /// A server that answers with an error of its own (an older release without
    /// `HealthService`) counts as reachable: the next call says more.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `unavailable`,
    ///   `timedOut` or `unauthenticated` when the server cannot be reached or refuses the token.
    public func checkReachable(timeout: Duration) async throws {
        do {
            _ = try await self.status(timeout: timeout)
        } catch let error as DistributedImagingError
            where error.code == .unavailable || error.code == .timedOut || error.code == .unauthenticated {
            throw error
        } catch {
            // Reachable, without HealthService.
        }
    }
}
