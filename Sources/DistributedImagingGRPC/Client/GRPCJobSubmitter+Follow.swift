public import DistributedImaging

extension GRPCJobSubmitter {
    /// Follows job `id` on the server at `server` until its receipt, through server restarts:
    /// while the server cannot be reached (or the watch breaks off), it connects again with
    /// backoff (0.2 s, doubling, at most 5 s) and watches from the job's snapshot again.
    ///
    /// - Parameters:
    ///   - deadline: When to give up (`nil`: never).
    ///   - events: The events to ask for (default all).
    ///   - onEvent: Every event of every watch, in order (each watch starts with a snapshot).
    ///   - onReconnect: Called the first time the server is lost, with why.
    /// - Returns: The job's receipt.
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `timedOut` once
    ///   `deadline` passes, `notFound` for an unknown id, or another code the server answered.
    public static func follow(
        _ id: JobID, server: PeerAddress, security: PeerSecurity = .none, until deadline: ContinuousClock.Instant? = nil,
        events: JobEvent.Selection = .all,
        onEvent: @escaping @Sendable (JobEvent) async -> Void,
        onReconnect: @escaping @Sendable (DistributedImagingError) -> Void = { _ in }
    ) async throws -> JobReceipt {
        let timedOut = DistributedImagingError(code: .timedOut, message: "job \(id) had not ended by the deadline")
        return try await withThrowingTaskGroup(of: JobReceipt.self) { group in
            group.addTask {
                var backoff: Duration = .milliseconds(200)
                var warned = false
                while true {
                    do {
                        return try await Self.withSubmitter(server: server, security: security, timeout: .seconds(10), events: events) {
                            for try await event in try await $0.watch(id) {
                                await onEvent(event)
                                if case .finished(let receipt) = event { return receipt }
                            }
                            throw DistributedImagingError(code: .unavailable, message: "the server ended the watch early")
                        }
                    } catch let error as DistributedImagingError where error.code == .unavailable {
                        if !warned { onReconnect(error) }
                        warned = true
                        try await Task.sleep(for: backoff)
                        backoff = min(backoff * 2, .seconds(5))
                    }
                }
            }
            if let deadline {
                group.addTask {
                    try await Task.sleep(until: deadline)
                    throw timedOut
                }
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}
