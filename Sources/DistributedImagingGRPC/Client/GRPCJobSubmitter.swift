import DistributedImaging
import GRPCCore
import GRPCNIOTransportHTTP2
import Synchronization

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

    private let client: GRPCClient<HTTP2ClientTransport.Posix>
    private let peer: String

    /// Creates a submitter; nothing is dialled until the first call.
    ///
    /// - Parameters:
    ///   - server: The server's address.
    ///   - security: The shared token and TLS settings (default none).
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration` when
    ///   the address cannot be resolved.
    public init(server: PeerAddress, security: PeerSecurity = .none) throws {
        self.server = server
        self.peer = "dip-server at \(server)"
        self.client = try security.makeClient(to: server, peer: self.peer)
    }

    /// Runs `body` with a submitter connected to `server`, then closes it.
    public static func withSubmitter<Result: Sendable>(
        server: PeerAddress, security: PeerSecurity = .none, _ body: (GRPCJobSubmitter) async throws -> Result
    ) async throws -> Result {
        let submitter = try GRPCJobSubmitter(server: server, security: security)
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
        }
        var options = CallOptions.defaults
        options.waitForReady = false
        let receipt: JobReceipt?
        do {
            receipt = try await service.submitJob(message, options: options) { response in
                var receipt: JobReceipt?
                for try await message in response.messages {
                    let event = try JobEvent(message.event)
                    await onEvent(event)
                    if case .finished(let final) = event { receipt = final }
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

    /// Asks the server for its status and its nodes.
    public func status(timeout: Duration = .seconds(5)) async throws -> PeerStatus {
        var options = CallOptions.defaults
        options.waitForReady = false
        options.timeout = timeout
        return try await HealthClient.status(of: self.client, options: options, peer: self.peer)
    }
}
