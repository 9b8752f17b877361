/// What a node says about itself when the server places a task: its policy, load, busy slots
/// and queue. Load-aware placements (``PowerOfTwoChoicesPlacement``, ``LeastLoadedPlacement``)
/// read it; ``RandomPlacement`` ignores it.
///
/// In process, ``ImagingNode`` reports it on every placement (through
/// ``InProcessTransport/Connection``). Over a network transport a node sends it in its
/// registration and heartbeats, and ``NodeMembership`` hands it to the node's connection
/// (``MemberConnection/updateAdvertisedState(_:)``), so busy slots and queue are as of the last
/// heartbeat (the gRPC transport also takes it from each health-check answer, so configured
/// nodes advertise too); ``ImagingServer`` raises the queue to at least the tasks it holds on the
/// node itself (``holding(atLeast:)``), which is current on every placement. A connection that
/// cannot tell (a node that has not told yet) reports
/// `nil` (``NodeConnection/advertisedState``), and a load-aware placement then treats that node
/// as unknown: among unknown nodes it picks uniformly at random, like ``RandomPlacement``.
public struct NodeState: Sendable, Hashable {
    /// The node's scheduling policy.
    public var policy: SchedulingPolicy?
    /// The node's load, 0...1: its rejection probability under Optional and its delay
    /// probability under both policies. Under ``NodeLoad/Mode/auto``, its measured occupancy now.
    public var load: Double
    /// Whether ``load`` is a fixed setting or measured (``NodeLoad/auto``); `nil`: not told.
    public var loadMode: NodeLoad.Mode?
    /// How many tasks it runs at once; `nil` for unbounded.
    public var slots: Int?
    /// Accepted tasks holding a slot now (waiting out a delay or processing).
    public var busySlots: Int
    /// Accepted tasks waiting for a slot now.
    public var queueLength: Int

    /// Whether the node rejects every task for good: Optional at a fixed load of 1. A measured
    /// load of 1 falls as soon as a slot frees, so an `auto` node never counts.
    public var rejectsEverything: Bool {
        self.policy == .optional && self.load >= 1 && self.loadMode != .auto
    }

    /// A node state.
    public init(
        policy: SchedulingPolicy? = nil, load: Double, loadMode: NodeLoad.Mode? = nil, slots: Int? = nil, busySlots: Int = 0,
        queueLength: Int = 0
    ) {
        self.policy = policy
        self.loadMode = loadMode
        self.load = load
        self.slots = slots
        self.busySlots = busySlots
        self.queueLength = queueLength
    }

    /// This state with at least `held` tasks on the node, busy or queued: the server places with
    /// its own count of the tasks it sent the node and has no answer for yet, which is current on
    /// every placement, where an advertised queue over a network is as old as the last heartbeat.
    /// (A state whose counts do not add up, which a third-party connection could report, is
    /// left as it is.)
    package func holding(atLeast held: Int) -> NodeState {
        let (advertised, overflow) = self.busySlots.addingReportingOverflow(self.queueLength)
        guard !overflow, self.busySlots >= 0, self.queueLength >= 0, held > advertised else { return self }
        var state = self
        state.queueLength = held - self.busySlots  // held > busySlots + queueLength ≥ busySlots ≥ 0
        return state
    }

    /// How unattractive the node is for one more task; lower is better.
    ///
    /// The load (the chance the task is rejected or delayed) plus the occupancy — tasks held,
    /// busy and queued, per slot (0 for unbounded slots). An idle node scores its load; a node
    /// whose slots are all busy with a queue as long scores its load + 2. An Optional node at a
    /// fixed load of 1, which rejects every task, scores infinity (``rejectsEverything``).
    public var pressure: Double {
        if self.rejectsEverything { return .infinity }
        let occupancy = self.slots.map { Double(self.busySlots + self.queueLength) / Double(max($0, 1)) } ?? 0
        return self.load + occupancy
    }
}
