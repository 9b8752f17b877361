import Synchronization

/// Wraps the node connections of any transport and injects faults into their calls: seeded, so
/// a run meets the same faults again.
///
/// Each call through a wrapped connection may be dropped (it throws `unavailable` without
/// reaching the node, as an unreachable node does), delayed, sent to the node twice (the caller
/// gets the first answer), held back until a later call to the same node has been answered (so
/// calls reach the node out of order), or have its answer lost after the node ran it. A node can
/// be cut off — every call fails `unavailable`, answers of calls in flight are lost — and
/// restored.
///
/// Wrap in-process connections to chaos-test a deployment's configuration in one process:
///
/// ```swift
/// let nodes = InProcessTransport()
/// for node in imagingNodes { nodes.register(node) }
/// let faults = try FaultInjectingTransport(seed: 42, faults: .init(drop: 0.1, duplicate: 0.05, reorder: 0.1))
/// let server = try ImagingServer(
///     configuration: configuration, storage: storage, nodes: faults.wrap(nodes.connections()), logger: logger)
/// faults.cutOff(NodeID("node-2"))
/// let receipt = try await server.submit(request)  // every task still ends; lostAttempts say why
/// ```
///
/// Decisions are drawn from the seed, the node's name and the task's job id, index and attempt
/// (``SeededRandomNumberGenerator/init(seed:deriving:)``), so the same seed meets the same faults
/// however calls interleave, and enabling one more kind of fault leaves the others' decisions as
/// they were. ``statistics(for:)`` counts what was injected, so a test can check that the fault
/// it wanted actually happened.
public final class FaultInjectingTransport: Sendable {
    /// What to inject, as per-call probabilities in `0...1`.
    public struct Faults: Sendable, Hashable {
        /// The chance that a call is dropped before it reaches the node: it throws
        /// ``DistributedImagingError`` with code `unavailable`.
        public var drop: Double
        /// The chance that a call waits before it is sent, for a time drawn uniformly from
        /// ``delays``.
        public var delay: Double
        /// The range delays are drawn from.
        public var delays: ClosedRange<Duration>
        /// The chance that the node gets the call twice (at once, as a retransmission would
        /// arrive); the caller gets whichever answer comes first.
        public var duplicate: Double
        /// The chance that a call is held back until another call to the same node has been
        /// answered, or ``holdLimit`` passed: later calls overtake it.
        public var reorder: Double
        /// The longest a call is held back.
        public var holdLimit: Duration
        /// The chance that the node runs the task but its answer is lost: the call throws
        /// `unavailable`, and the server places a task again that already ran.
        public var loseAnswer: Double

        /// Faults with the given chances (none by default).
        public init(
            drop: Double = 0, delay: Double = 0, delays: ClosedRange<Duration> = .milliseconds(1) ... .milliseconds(20),
            duplicate: Double = 0, reorder: Double = 0, holdLimit: Duration = .milliseconds(100), loseAnswer: Double = 0
        ) {
            self.drop = drop
            self.delay = delay
            self.delays = delays
            self.duplicate = duplicate
            self.reorder = reorder
            self.holdLimit = holdLimit
            self.loseAnswer = loseAnswer
        }

        /// No faults: calls pass through unchanged.
        public static var none: Self { Self() }

        /// Checks every chance is in `0...1` and every duration is not negative.
        func validate() throws {
            let chances = ["drop": self.drop, "delay": self.delay, "duplicate": self.duplicate, "reorder": self.reorder,
                           "loseAnswer": self.loseAnswer]
            for (name, chance) in chances.sorted(by: { $0.key < $1.key }) where !(0...1).contains(chance) {
                throw DistributedImagingError.invalidConfiguration("fault chance '\(name)' must be in 0...1, not \(chance)")
            }
            guard self.delays.lowerBound >= .zero, self.holdLimit >= .zero else {
                throw DistributedImagingError.invalidConfiguration("fault delays and the hold limit must not be negative")
            }
        }
    }

    /// What was injected into the calls to one node (or, summed, to all).
    public struct Statistics: Sendable, Hashable {
        /// Calls made through the wrapper.
        public var calls = 0
        /// Times the node was called (a duplicated call counts twice).
        public var forwarded = 0
        /// Calls dropped before they reached the node.
        public var dropped = 0
        /// Calls that waited before they were sent.
        public var delayed = 0
        /// Calls the node got twice.
        public var duplicated = 0
        /// Calls held back for later calls to overtake.
        public var reordered = 0
        /// Answers lost after the node ran the task.
        public var lostAnswers = 0
        /// Calls that failed because the node was cut off (before or while they ran).
        public var refused = 0

        /// Nothing counted yet.
        public init() {}

        static func + (lhs: Self, rhs: Self) -> Self {
            var sum = lhs
            sum.calls += rhs.calls
            sum.forwarded += rhs.forwarded
            sum.dropped += rhs.dropped
            sum.delayed += rhs.delayed
            sum.duplicated += rhs.duplicated
            sum.reordered += rhs.reordered
            sum.lostAnswers += rhs.lostAnswers
            sum.refused += rhs.refused
            return sum
        }
    }

    private struct NodeState {
        var faults: Faults?
        var cutOff = false
        /// Bumped by every cut-off, so a call in flight knows its answer must be lost.
        var cuts = 0
        var statistics = Statistics()
        var held: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private struct State {
        var faults: Faults
        var nodes: [NodeID: NodeState] = [:]
        var nextHold: UInt64 = 0
    }

    /// What happens to one call, drawn when it starts.
    private struct Plan {
        var cuts: Int
        var cutOff: Bool
        var drop: Bool
        var delay: Duration?
        var hold: Duration?
        var duplicate: Bool
        var loseAnswer: Bool
    }

    private let seed: UInt64
    private let state: Mutex<State>
    private let sleep: @Sendable (Duration) async throws -> Void

    /// A wrapper that injects `faults` into calls to every node.
    ///
    /// - Parameters:
    ///   - seed: Fixes every decision (see the type's discussion).
    ///   - faults: What to inject into calls to every node (none by default); see
    ///     ``setFaults(_:for:)`` for one node.
    ///   - sleep: How the wrapper waits (delays, the hold limit); `Task.sleep` by default. A
    ///     test can pass a recorder that returns at once.
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` when a chance is
    ///   outside `0...1` or a duration is negative.
    public init(
        seed: UInt64, faults: Faults = .none,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) throws {
        try faults.validate()
        self.seed = seed
        self.state = Mutex(State(faults: faults))
        self.sleep = sleep
    }

    // MARK: - Wrapping

    /// `connection`, with faults injected into its calls.
    public func wrap(_ connection: any NodeConnection) -> Connection {
        Connection(base: connection, transport: self)
    }

    /// Each of `connections`, with faults injected into its calls.
    public func wrap(_ connections: [any NodeConnection]) -> [any NodeConnection] {
        connections.map { self.wrap($0) }
    }

    /// `directory`, whose connections are wrapped every time it is read.
    public func wrap(_ directory: any NodeDirectory) -> Directory {
        Directory(base: directory, transport: self)
    }

    /// A node connection with faults injected into its calls.
    public struct Connection: NodeConnection {
        /// The wrapped connection.
        public let base: any NodeConnection
        let transport: FaultInjectingTransport

        /// The wrapped connection's node.
        public var node: NodeID { self.base.node }

        /// The wrapped connection's slots.
        public var slots: Int? { self.base.slots }

        /// Runs `task` through the wrapped connection, injecting the faults drawn for it.
        ///
        /// - Throws: ``DistributedImagingError`` with code `unavailable` for a dropped call, a
        ///   lost answer or a node that is cut off; `CancellationError` when cancelled while
        ///   delayed; whatever the wrapped connection throws.
        public func run(_ task: TaskRequest) async throws -> TaskReceipt {
            try await self.transport.run(task, through: self.base)
        }
    }

    /// A node directory whose connections have faults injected into their calls.
    public struct Directory: NodeDirectory {
        let base: any NodeDirectory
        let transport: FaultInjectingTransport

        /// The wrapped directory's connections, wrapped.
        public func connections() -> [any NodeConnection] {
            self.transport.wrap(self.base.connections())
        }
    }

    // MARK: - Control

    /// Injects `faults` into calls to every node that has none of its own.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` for a chance outside
    ///   `0...1` or a negative duration.
    public func setFaults(_ faults: Faults) throws {
        try faults.validate()
        self.state.withLock { $0.faults = faults }
    }

    /// Injects `faults` into calls to `node` instead of the faults set for every node.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` for a chance outside
    ///   `0...1` or a negative duration.
    public func setFaults(_ faults: Faults, for node: NodeID) throws {
        try faults.validate()
        self.state.withLock { $0.nodes[node, default: NodeState()].faults = faults }
    }

    /// The faults injected into calls to `node`.
    public func faults(for node: NodeID) -> Faults {
        self.state.withLock { $0.nodes[node]?.faults ?? $0.faults }
    }

    /// Cuts `node` off: every call fails `unavailable` until ``restore(_:)``, and the answers of
    /// calls in flight are lost.
    public func cutOff(_ node: NodeID) {
        self.state.withLock { state in
            state.nodes[node, default: NodeState()].cutOff = true
            state.nodes[node, default: NodeState()].cuts += 1
        }
    }

    /// Makes a node that was cut off reachable again.
    public func restore(_ node: NodeID) {
        self.state.withLock { $0.nodes[node, default: NodeState()].cutOff = false }
    }

    /// Whether `node` is cut off.
    public func isCutOff(_ node: NodeID) -> Bool {
        self.state.withLock { $0.nodes[node]?.cutOff ?? false }
    }

    /// What was injected into calls to `node` so far.
    public func statistics(for node: NodeID) -> Statistics {
        self.state.withLock { $0.nodes[node]?.statistics ?? Statistics() }
    }

    /// What was injected into calls to every node so far.
    public var statistics: Statistics {
        self.state.withLock { $0.nodes.values.reduce(Statistics()) { $0 + $1.statistics } }
    }
}

extension FaultInjectingTransport {
    private func run(_ task: TaskRequest, through base: any NodeConnection) async throws -> TaskReceipt {
        let node = base.node
        let plan = self.plan(for: task, on: node)
        if plan.cutOff { throw self.cutOffError(node) }
        if plan.drop { throw DistributedImagingError.unavailable("fault injection dropped the call to node '\(node)'") }
        if let delay = plan.delay { try await self.sleep(delay) }
        if let limit = plan.hold { await self.hold(on: node, atMost: limit) }
        let answer: Result<TaskReceipt, any Error>
        if plan.duplicate {
            answer = await withTaskGroup(of: Result<TaskReceipt, any Error>.self) { group in
                for _ in 0..<2 { group.addTask { await Self.call(base, task) } }
                var first: Result<TaskReceipt, any Error>?
                for await result in group where first == nil { first = result }
                return first ?? .failure(CancellationError())
            }
        } else {
            answer = await Self.call(base, task)
        }
        self.answered(on: node)
        let receipt = try answer.get()
        let lost = self.state.withLock { state -> (cut: Bool, lost: Bool) in
            let current = state.nodes[node, default: NodeState()]
            if current.cuts != plan.cuts {
                state.nodes[node, default: NodeState()].statistics.refused += 1
                return (true, false)
            }
            if plan.loseAnswer { state.nodes[node, default: NodeState()].statistics.lostAnswers += 1 }
            return (false, plan.loseAnswer)
        }
        if lost.cut { throw self.cutOffError(node) }
        if lost.lost { throw DistributedImagingError.unavailable("fault injection lost node '\(node)''s answer") }
        return receipt
    }

    private static func call(_ base: any NodeConnection, _ task: TaskRequest) async -> Result<TaskReceipt, any Error> {
        do {
            return .success(try await base.run(task))
        } catch {
            return .failure(error)
        }
    }

    private func cutOffError(_ node: NodeID) -> DistributedImagingError {
        DistributedImagingError.unavailable("node '\(node)' is cut off by fault injection")
    }

    /// Draws what happens to `task` on `node` and counts it.
    private func plan(for task: TaskRequest, on node: NodeID) -> Plan {
        var random = SeededRandomNumberGenerator(
            seed: self.seed, deriving: "fault", node.rawValue, task.jobID.rawValue, String(task.taskIndex), String(task.attempt))
        // Every chance is drawn, enabled or not, so that enabling one fault keeps the others.
        let draws = (0..<6).map { _ in Double.random(in: 0..<1, using: &random) }
        return self.state.withLock { state in
            let faults = state.nodes[node]?.faults ?? state.faults
            var nodeState = state.nodes[node, default: NodeState()]
            defer { state.nodes[node] = nodeState }
            nodeState.statistics.calls += 1
            var plan = Plan(
                cuts: nodeState.cuts, cutOff: nodeState.cutOff, drop: draws[0] < faults.drop, delay: nil, hold: nil,
                duplicate: draws[3] < faults.duplicate, loseAnswer: draws[4] < faults.loseAnswer)
            if draws[1] < faults.delay {
                let low = faults.delays.lowerBound
                plan.delay = low + (faults.delays.upperBound - low) * draws[5]
            }
            if draws[2] < faults.reorder { plan.hold = faults.holdLimit }
            if plan.cutOff {
                nodeState.statistics.refused += 1
                return plan
            }
            if plan.drop {
                nodeState.statistics.dropped += 1
                return plan
            }
            if plan.delay != nil { nodeState.statistics.delayed += 1 }
            if plan.hold != nil { nodeState.statistics.reordered += 1 }
            if plan.duplicate { nodeState.statistics.duplicated += 1 }
            nodeState.statistics.forwarded += plan.duplicate ? 2 : 1
            return plan
        }
    }

    /// Waits until another call to `node` is answered, `limit` passes, or the caller is cancelled.
    private func hold(on node: NodeID, atMost limit: Duration) async {
        let id = self.state.withLock { state -> UInt64 in
            state.nextHold &+= 1
            return state.nextHold
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForRelease(id, on: node) }
            group.addTask { try? await self.sleep(limit) }
            _ = await group.next()
            group.cancelAll()
        }
    }

    private func waitForRelease(_ id: UInt64, on node: NodeID) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = self.state.withLock { state -> Bool in
                    if Task.isCancelled { return true }
                    state.nodes[node, default: NodeState()].held[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            self.state.withLock { $0.nodes[node]?.held.removeValue(forKey: id) }?.resume()
        }
    }

    /// Releases the calls held back on `node`: one call overtook them.
    private func answered(on node: NodeID) {
        let held = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard let waiting = state.nodes[node]?.held, !waiting.isEmpty else { return [] }
            state.nodes[node]?.held.removeAll()
            return Array(waiting.values)
        }
        for continuation in held { continuation.resume() }
    }
}
