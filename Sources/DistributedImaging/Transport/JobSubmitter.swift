/// A server as its clients see it: jobs are records with an id that can be submitted and
/// followed, started and left running, watched, listed and cancelled.
///
/// The server role implements it directly (``ImagingServer``, in-process); the gRPC transport
/// implements it as a client of a remote server, and serves a local implementation over the
/// network.
public protocol JobSubmitter: Sendable {
    /// Runs `request` to completion.
    ///
    /// - Parameters:
    ///   - request: The job.
    ///   - onEvent: Called for every ``JobEvent`` in order, the final ``JobEvent/finished(_:)``
    ///     included; the first is ``JobEvent/started(jobID:tasks:skipped:)``, which carries the
    ///     job's id.
    /// - Returns: The job's receipt. A job whose tasks failed returns a receipt with status
    ///   ``JobStatus/failed``; it does not throw. Cancelling the calling task cancels the job.
    /// - Throws: when the server cannot be reached or the request is refused as a whole
    ///   (for example a path outside the storage root).
    func submit(_ request: JobRequest, onEvent: @escaping @Sendable (JobEvent) async -> Void) async throws -> JobReceipt

    /// Starts `request` and returns its id as soon as the server stored it; the job runs on
    /// without the caller.
    func start(_ request: JobRequest) async throws -> JobID

    /// The events of a job: first ``JobEvent/snapshot(_:)`` with its counts so far, then each
    /// event as it happens, ending with ``JobEvent/finished(_:)``. Ending the iteration only
    /// detaches; the job runs on.
    ///
    /// - Throws: ``DistributedImagingError`` with code `notFound` for an unknown id.
    func watch(_ id: JobID) async throws -> AsyncThrowingStream<JobEvent, any Error>

    /// Every job the server keeps, newest first.
    func jobs() async throws -> [JobRecord]

    /// Cancels a running job; it ends with status ``JobStatus/cancelled``.
    ///
    /// - Returns: The job's record as it stands.
    /// - Throws: ``DistributedImagingError`` with code `notFound` for an unknown id, or
    ///   `invalidArgument` for a job that already ended.
    @discardableResult
    func cancel(_ id: JobID) async throws -> JobRecord
}

extension JobSubmitter {
    /// Runs `request` to completion, ignoring progress events.
    public func submit(_ request: JobRequest) async throws -> JobReceipt {
        try await self.submit(request, onEvent: { _ in })
    }

    /// Refuses: this submitter keeps no jobs (override it in one that does).
    public func start(_ request: JobRequest) async throws -> JobID {
        throw DistributedImagingError.unavailable("\(type(of: self)) cannot start a job without following it")
    }

    /// Refuses: this submitter keeps no jobs.
    public func watch(_ id: JobID) async throws -> AsyncThrowingStream<JobEvent, any Error> {
        throw DistributedImagingError.unavailable("\(type(of: self)) keeps no jobs to watch")
    }

    /// Refuses: this submitter keeps no jobs.
    public func jobs() async throws -> [JobRecord] {
        throw DistributedImagingError.unavailable("\(type(of: self)) keeps no jobs to list")
    }

    /// Refuses: this submitter keeps no jobs.
    @discardableResult
    public func cancel(_ id: JobID) async throws -> JobRecord {
        throw DistributedImagingError.unavailable("\(type(of: self)) keeps no jobs to cancel")
    }
}
