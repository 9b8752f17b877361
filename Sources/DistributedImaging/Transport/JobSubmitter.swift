/// "Run this job, stream its progress, return its receipt": the client's view of a server.
///
/// The server role implements it directly (in-process); the gRPC transport implements it as a
/// client of a remote server, and serves a local implementation over the network.
public protocol JobSubmitter: Sendable {
    /// Runs `request` to completion.
    ///
    /// - Parameters:
    ///   - request: The job.
    ///   - onEvent: Called for every ``JobEvent`` in order, the final ``JobEvent/finished(_:)``
    ///     included.
    /// - Returns: The job's receipt. A job whose tasks failed returns a receipt with status
    ///   ``JobStatus/failed``; it does not throw.
    /// - Throws: when the server cannot be reached or the request is refused as a whole
    ///   (for example a path outside the storage root).
    func submit(_ request: JobRequest, onEvent: @escaping @Sendable (JobEvent) async -> Void) async throws -> JobReceipt
}

extension JobSubmitter {
    /// Runs `request` to completion, ignoring progress events.
    public func submit(_ request: JobRequest) async throws -> JobReceipt {
        try await self.submit(request, onEvent: { _ in })
    }
}
