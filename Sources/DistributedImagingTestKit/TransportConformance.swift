import DistributedImaging
public import Testing

/// The conformance suite for a transport: what the server and the client see must not depend on
/// how they reach each other.
///
/// Run it from a Swift Testing test, one test case per check:
///
/// ```swift
/// @Test(arguments: TransportConformance.Check.allCases)
/// func conformance(_ check: TransportConformance.Check) async throws {
///     try await TransportConformance(MyTransportUnderTest()).run(check)
/// }
/// ```
///
/// Each check records its failures with `#expect` and `#require`, so they show in the calling
/// test. The node checks (``Check/nodeChecks``) need only ``TransportUnderTest/withNodes(_:_:)``;
/// the job checks (``Check/jobChecks``) and status checks (``Check/statusChecks``) need
/// ``TransportUnderTest/withSubmitter(serving:_:)``. The checks wait on the transport, never on
/// a clock, except for bounds that only a failing transport reaches: give the calling test a
/// time limit (`.timeLimit(.minutes(1))`).
public struct TransportConformance: Sendable {
    let transport: any TransportUnderTest

    /// A suite for `transport`.
    public init(_ transport: some TransportUnderTest) {
        self.transport = transport
    }

    /// One thing every transport must do.
    public enum Check: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// Tasks reach the node unchanged, every field (format, attempt, deadline) included, and
        /// the node's receipts come back unchanged.
        case tasksArriveUnchanged
        /// A node's `rejected` answer comes back as a receipt with its reason, not as an error.
        case rejectionsArriveAsReceipts
        /// A node's `failed` answer comes back as a receipt with its message, not as an error.
        case failuresArriveAsReceipts
        /// Each connection reaches its own node: its ``NodeConnection/node`` is the executor's
        /// name and its tasks reach that executor only.
        case eachConnectionReachesItsNode
        /// Many calls at once on one connection each get their own receipt.
        case concurrentCallsGetTheirOwnReceipts
        /// A node that was cut off is `unavailable`; the other nodes still answer.
        case unreachableNodeIsUnavailable
        /// A task's ``TaskRequest/runTimeout`` reaches the node, and the node's answer past it
        /// comes back: the transport does not cut the call at the deadline (queue wait is not
        /// counted in it).
        case deadlineTravelsWithTheTask
        /// Cancelling a call cancels the node's work on it, and the call ends.
        case cancellingACallReachesTheNode
        /// A job's events arrive unchanged and in order — ``JobEvent/started(jobID:tasks:skipped:)``
        /// first with the job's id, ``JobEvent/finished(_:)`` last — the request reaches the
        /// server unchanged, and the receipt equals the one the events ended with.
        case jobEventsArriveInOrder
        /// A job refused as a whole throws the server's ``DistributedImagingError`` code and
        /// message.
        case refusedJobKeepsItsError
        /// Cancelling a submission cancels the job on the server, and the call ends.
        case cancellingASubmissionReachesTheServer
        /// Starting, listing, watching and cancelling jobs carry the server's ids, records and
        /// events unchanged, and its `notFound` and `invalidArgument` errors.
        case jobRecordsArriveUnchanged

        /// The checks every transport must pass.
        public static let nodeChecks: [Check] = [
            .tasksArriveUnchanged, .rejectionsArriveAsReceipts, .failuresArriveAsReceipts, .eachConnectionReachesItsNode,
            .concurrentCallsGetTheirOwnReceipts, .unreachableNodeIsUnavailable, .deadlineTravelsWithTheTask,
            .cancellingACallReachesTheNode,
        ]

        /// The checks for a transport that carries jobs (``JobSubmitter/submit(_:onEvent:)``).
        public static let jobChecks: [Check] = [
            .jobEventsArriveInOrder, .refusedJobKeepsItsError, .cancellingASubmissionReachesTheServer,
        ]

        /// The checks for a transport that also carries a server's job records
        /// (``JobSubmitter/start(_:)``, ``JobSubmitter/watch(_:)``, ``JobSubmitter/jobs()``,
        /// ``JobSubmitter/cancel(_:)``).
        public static let statusChecks: [Check] = [.jobRecordsArriveUnchanged]

        public var testDescription: String { self.rawValue }
    }

    /// Runs one check.
    public func run(_ check: Check) async throws {
        switch check {
        case .tasksArriveUnchanged: try await self.tasksArriveUnchanged()
        case .rejectionsArriveAsReceipts: try await self.answersArriveAsReceipts(.rejected)
        case .failuresArriveAsReceipts: try await self.answersArriveAsReceipts(.failed)
        case .eachConnectionReachesItsNode: try await self.eachConnectionReachesItsNode()
        case .concurrentCallsGetTheirOwnReceipts: try await self.concurrentCalls()
        case .unreachableNodeIsUnavailable: try await self.unreachableNode()
        case .deadlineTravelsWithTheTask: try await self.deadline()
        case .cancellingACallReachesTheNode: try await self.cancellingACall()
        case .jobEventsArriveInOrder: try await self.jobEvents()
        case .refusedJobKeepsItsError: try await self.refusedJob()
        case .cancellingASubmissionReachesTheServer: try await self.cancellingASubmission()
        case .jobRecordsArriveUnchanged: try await self.jobRecords()
        }
    }

    /// Runs `checks` one after another (all of them by default).
    public func run(_ checks: [Check] = Check.allCases) async throws {
        for check in checks { try await self.run(check) }
    }
}
