import Synchronization

/// What the server believes about its nodes' liveness: a node whose call failed as unreachable
/// or timed out is *suspect* for ``retryAfter``, and placement skips it meanwhile; once that
/// passes the next placement on it is the probe, and any answer (even a rejection) clears it.
///
/// Placement also reads the nodes from the server's ``NodeDirectory`` on every attempt, so
/// nodes that join, leave or come back are seen by a running job.
///
/// One instance may be shared by many jobs (``ImagingServer`` takes it at creation), so what
/// one job learnt about a dead node spares the next one the same lost attempts.
///
/// ```swift
/// let health = NodeHealth(retryAfter: .seconds(5))
/// health.markUnreachable(NodeID("node-2"))
/// health.available(among: nodes)   // node-2 left out for 5 s
/// ```
public final class NodeHealth: Sendable {
    /// How long a node that stopped answering is skipped before it is tried again.
    public let retryAfter: Duration

    private let suspects = Mutex<[NodeID: ContinuousClock.Instant]>([:])
    private let now: @Sendable () -> ContinuousClock.Instant

    /// Creates an empty health record.
    ///
    /// - Parameters:
    ///   - retryAfter: How long a node that stopped answering is skipped (default 2 s).
    ///   - now: The clock's reading (tests pass a manual one; default `ContinuousClock.now`).
    public init(retryAfter: Duration = .seconds(2), now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.retryAfter = retryAfter
        self.now = now
    }

    /// Records that `node` did not answer (unreachable, disconnected or past the task deadline).
    public func markUnreachable(_ node: NodeID) {
        let until = self.now() + self.retryAfter
        self.suspects.withLock { $0[node] = until }
    }

    /// Records that `node` answered.
    public func markAlive(_ node: NodeID) {
        self.suspects.withLock { suspects in
            if suspects[node] != nil { suspects[node] = nil }
        }
    }

    /// Whether `node` is currently skipped.
    public func isSuspect(_ node: NodeID) -> Bool {
        let now = self.now()
        return self.suspects.withLock { ($0[node]).map { now < $0 } ?? false }
    }

    /// The indices of `nodes` that placement may use now: those not suspect, or all of them
    /// when every node is suspect (each attempt is then a probe, and attempts run out as before).
    public func available(among nodes: [NodeID]) -> [Int] {
        let now = self.now()
        return self.suspects.withLock { suspects in
            let healthy = nodes.indices.filter { index in suspects[nodes[index]].map { now >= $0 } ?? true }
            return healthy.isEmpty ? Array(nodes.indices) : healthy
        }
    }
}
