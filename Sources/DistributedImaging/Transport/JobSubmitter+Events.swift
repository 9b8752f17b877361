extension JobSubmitter {
    /// Runs `request` and hands its events to `body` as an `AsyncSequence`.
    ///
    /// The job runs in a child task while `body` reads the events; the sequence ends after
    /// ``JobEvent/finished(_:)``, or throws what the submission threw (a job refused as a whole,
    /// an unreachable server). When `body` returns, the job is awaited to its end; when `body`
    /// throws, the job is cancelled.
    ///
    /// ```swift
    /// let origin = ContinuousClock.now
    /// let receipt = try await submitter.withEvents(for: request) { events in
    ///     var progress = JobProgress()
    ///     for try await event in events {
    ///         let now = (ContinuousClock.now - origin) / .seconds(1)
    ///         progress.record(event, at: now)
    ///         print(progress.line(at: now))
    ///     }
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - request: The job.
    ///   - isolation: Where `body` runs: the caller's actor by default.
    ///   - body: Reads the events.
    /// - Returns: The job's receipt.
    /// - Throws: What the submission or `body` threw.
    @discardableResult
    public func withEvents(
        for request: JobRequest,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (AsyncThrowingStream<JobEvent, any Error>) async throws -> Void
    ) async throws -> JobReceipt {
        let (events, continuation) = AsyncThrowingStream.makeStream(of: JobEvent.self, throwing: (any Error).self)
        return try await withThrowingTaskGroup(of: JobReceipt.self) { group in
            group.addTask {
                do {
                    let receipt = try await self.submit(request) { event in continuation.yield(event) }
                    continuation.finish()
                    return receipt
                } catch {
                    continuation.finish(throwing: error)
                    throw error
                }
            }
            do {
                try await body(events)
            } catch {
                group.cancelAll()
                throw error
            }
            guard let receipt = try await group.next() else {
                throw DistributedImagingError(code: .internalError, message: "the job ended without a receipt")
            }
            return receipt
        }
    }
}
