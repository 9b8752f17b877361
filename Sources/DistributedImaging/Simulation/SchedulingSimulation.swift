/// One job through the real scheduling code on a virtual clock: a deterministic discrete-event
/// simulation of the server's dispatch and the nodes' admission, for the scheduling experiment
/// (`dip-bench experiment`) and the tests of the seed's laws.
///
/// What is real: every placement is the ``Placement`` the server would call (with the nodes'
/// advertised ``NodeState``, among the nodes with room, with the task's `tried` list), drawing
/// from the server's per-task random stream; every admission is the node's ``Scheduler``
/// (``MandatoryScheduler`` or ``OptionalScheduler``), drawing from the node's per-task,
/// per-attempt stream. The server's back-off is followed too: once every node with room declined a
/// task since its last back-off, it waits 1 ms, doubling per round up to 1 s. What is modelled: the clock (a priority queue of completion events, no
/// sleeps), the server's dispatch bound and per-node room (as ``ImagingServer`` keeps them: at
/// most `maxConcurrentTasks` in flight, at most ``NodeRoom/limit(slots:)`` on one node), the nodes'
/// slots and first-come-first-served queues, and processing (a constant divided by the node's
/// speed). A rejection costs ``rejectionRoundTrip`` (the task holds its room on the node meanwhile)
/// before the task is placed again; the other messages take no time.
///
/// The nodes with room are kept in a list with O(1) insertion, removal and draws, and a placement
/// sees them through ``Placement/choose(for:amongCount:candidate:tried:using:)``: with
/// ``RandomPlacement`` and ``PowerOfTwoChoicesPlacement`` a placement costs O(1) however many
/// nodes there are (`dip-bench simulate` runs 10,000 nodes). ``LeastLoadedPlacement`` and
/// ``UntriedFirstPlacement`` look at every node with room: O(nodes) per attempt.
///
/// With unbounded slots there is no dispatch bound either — every task runs at once, the seed's
/// model.
package struct SchedulingSimulation: Sendable {
    /// A simulated node.
    package struct Node: Sendable {
        package var name: NodeID
        package var load: Double
        /// Relative speed: processing takes ``SchedulingSimulation/processing`` / speed.
        package var speed: Double
        /// Seeds the node's decisions, as ``NodeConfiguration/seed`` does.
        package var seed: UInt64
        package var scheduler: any Scheduler
        package var policy: SchedulingPolicy

        package init(name: NodeID, policy: SchedulingPolicy, load: Double, delay: Duration, speed: Double = 1, seed: UInt64) {
            self.name = name
            self.load = load
            self.speed = speed
            self.seed = seed
            self.policy = policy
            self.scheduler = policy.makeScheduler(delay: delay)
        }
    }

    package var nodes: [Node]
    package var placement: any Placement
    /// Slots per node; `nil` for unbounded (and then no dispatch bound).
    package var slots: Int?
    /// How many tasks the server keeps on one node (``ServerConfiguration/nodeRoom``).
    package var nodeRoom: NodeRoom
    /// Processing seconds of one task at speed 1.
    package var processing: Double
    /// Seeds the server's placements, as ``ServerConfiguration/seed`` does.
    package var serverSeed: UInt64
    /// The server's dispatch bound (``ServerConfiguration/maxConcurrentTasks``).
    package var maxConcurrentTasks: Int
    /// Attempts before a task fails; `nil` keeps searching (the seed's rule).
    package var maxAttempts: Int?
    /// Seconds from an offer to the rejection reaching the server (default 0: placed again at
    /// the same instant).
    package var rejectionRoundTrip: Double

    package init(
        nodes: [Node], placement: any Placement, slots: Int?, processing: Double, serverSeed: UInt64,
        maxConcurrentTasks: Int = ServerConfiguration.defaultMaxConcurrentTasks, maxAttempts: Int? = nil,
        rejectionRoundTrip: Double = 0, nodeRoom: NodeRoom = .default
    ) {
        self.rejectionRoundTrip = rejectionRoundTrip
        self.nodeRoom = nodeRoom
        self.nodes = nodes
        self.placement = placement
        self.slots = slots
        self.processing = processing
        self.serverSeed = serverSeed
        self.maxConcurrentTasks = maxConcurrentTasks
        self.maxAttempts = maxAttempts
    }

    /// What one job did.
    package struct Outcome: Sendable {
        /// Submission to the end of the last task, in virtual seconds.
        package var jobSeconds: Double
        /// Per task: placed first to answered, in virtual seconds (the receipt's `elapsed`).
        package var latencies: [Double]
        /// Per task: attempts made.
        package var attempts: [Int]
        /// Per task: the node that accepted it (`nil` when it failed).
        package var acceptedBy: [Int?]
        /// Per task: whether its accepted attempt was delayed.
        package var delayed: [Bool]
        /// Per node: attempts offered to it.
        package var offered: [Int]
        /// Per node: attempts it rejected.
        package var rejected: [Int]
        /// Per node: accepted tasks it delayed.
        package var delayedByNode: [Int]
        /// Tasks that ran out of attempts.
        package var failed: Int
        /// Back-offs taken (rounds in which every node with room declined a task).
        package var backOffs = 0
    }

    /// Runs job `job` of `images` tasks from virtual time 0 to its last answer.
    package func run(job: JobID, images: Int) -> Outcome {
        var engine = Engine(simulation: self, job: job, images: images)
        engine.run()
        return engine.outcome
    }
}

extension SchedulingSimulation {
    /// The event loop's state. Private to the simulation; one per job.
    fileprivate struct Engine {
        let simulation: SchedulingSimulation
        let job: JobID
        let images: Int
        /// The most tasks the server keeps on one node; `Int.max` with unbounded slots.
        let nodeLimit: Int
        /// The dispatch bound; `Int.max` with unbounded slots.
        let window: Int

        var now = 0.0
        var events = EventQueue()
        var generators: [SeededRandomNumberGenerator]
        /// Per task: the nodes tried, while it is in flight (emptied when it is answered).
        var tried: [[NodeID]]
        var started: [Double]
        var nextTask = 0
        var inFlight = 0
        /// Tasks placed on each node and not answered (the server's `NodeOccupancy`).
        var held: [Int]
        var busy: [Int]
        /// Per node: accepted tasks waiting for a slot, with their injected delay.
        var queues: [[(task: Int, delay: Double)]]
        var queueHeads: [Int]
        /// Tasks waiting for room on some node, in arrival order (from `waitingHead` on).
        var waitingForRoom: [Int] = []
        var waitingHead = 0
        /// The nodes with room (`held` below `nodeLimit`), in no particular order, and each
        /// node's position in it (-1 when full): O(1) to add, remove and draw from.
        var open: [Int]
        var openPosition: [Int]
        /// Per task in flight: the nodes that declined it since its last back-off, and its next
        /// back-off in seconds.
        var declined: [Int: Set<Int>] = [:]
        var backOff: [Int: Double] = [:]
        var outcome: Outcome

        init(simulation: SchedulingSimulation, job: JobID, images: Int) {
            self.simulation = simulation
            self.job = job
            self.images = images
            let count = simulation.nodes.count
            if let slots = simulation.slots {
                self.nodeLimit = simulation.nodeRoom.limit(slots: slots)
                let capacity = simulation.nodeRoom.capacity(slots: repeatElement(slots, count: count))
                self.window = max(1, min(simulation.maxConcurrentTasks, capacity))
            } else {
                self.nodeLimit = .max
                self.window = .max
            }
            self.open = Array(0..<count)
            self.openPosition = Array(0..<count)
            self.generators = (0..<images).map {
                ImagingServer.placementGenerator(seed: simulation.serverSeed, jobID: job, taskIndex: $0)
            }
            self.tried = Array(repeating: [], count: images)
            self.started = Array(repeating: 0, count: images)
            self.held = Array(repeating: 0, count: count)
            self.busy = Array(repeating: 0, count: count)
            self.queues = Array(repeating: [], count: count)
            self.queueHeads = Array(repeating: 0, count: count)
            self.outcome = Outcome(
                jobSeconds: 0, latencies: Array(repeating: 0, count: images), attempts: Array(repeating: 0, count: images),
                acceptedBy: Array(repeating: nil, count: images), delayed: Array(repeating: false, count: images),
                offered: Array(repeating: 0, count: count), rejected: Array(repeating: 0, count: count),
                delayedByNode: Array(repeating: 0, count: count), failed: 0)
        }

        mutating func run() {
            self.dispatch()
            while let event = self.events.pop() {
                self.now = event.time
                switch event.kind {
                case .rejected:
                    self.unhold(event.node)
                    if !self.backOffIfRoundDeclined(event.task) { self.place(event.task) }
                    self.roomFreed()
                case .retry:
                    self.place(event.task)
                case .finished:
                    self.finish(task: event.task, node: event.node)
                }
            }
            self.outcome.jobSeconds = self.now
        }

        /// Starts tasks while the dispatch bound allows (the server's `FairShare`).
        mutating func dispatch() {
            while self.nextTask < self.images && self.inFlight < self.window {
                let task = self.nextTask
                self.nextTask += 1
                self.inFlight += 1
                self.started[task] = self.now
                self.place(task)
            }
        }

        /// Places `task` until a node accepts it, it runs out of attempts, or every node is
        /// full (it then waits for room).
        mutating func place(_ task: Int) {
            let simulation = self.simulation
            while true {
                // Without a cap, a task no node can ever accept (Optional at load 1 everywhere) would
                // loop for ever on the virtual clock: stop it after a million attempts.
                if self.outcome.attempts[task] >= (simulation.maxAttempts ?? 1_000_000) {
                    self.outcome.failed += 1
                    self.answered(task)
                    return
                }
                guard !self.open.isEmpty else {
                    self.waitingForRoom.append(task)
                    return
                }
                var request = TaskRequest(jobID: self.job, taskIndex: task, inputPath: "", outputPath: "", pipeline: "identity")
                request.attempt = self.outcome.attempts[task] + 1
                let open = self.open
                var generator = self.generators[task]
                let index = simulation.placement.choose(
                    for: request, amongCount: open.count,
                    candidate: { position in
                        let node = open[position]
                        // As the server does: the node's state, with the tasks the server holds there.
                        let state = NodeState(
                            policy: simulation.nodes[node].policy, load: simulation.nodes[node].load, slots: simulation.slots,
                            busySlots: self.busy[node], queueLength: self.queues[node].count - self.queueHeads[node])
                        return PlacementCandidate(node: simulation.nodes[node].name, state: state.holding(atLeast: self.held[node]))
                    }, tried: self.tried[task], using: &generator)
                self.generators[task] = generator
                precondition(open.indices.contains(index), "placement chose \(index) among \(open.count)")
                let node = open[index]
                self.outcome.attempts[task] += 1
                self.outcome.offered[node] += 1
                self.tried[task].append(simulation.nodes[node].name)
                var decisions = ImagingNode.decisionGenerator(seed: simulation.nodes[node].seed, for: request)
                let decision = simulation.nodes[node].scheduler.decide(
                    on: request, load: simulation.nodes[node].load, using: &decisions)
                guard let delay = decision.delay else {
                    self.outcome.rejected[node] += 1
                    self.declined[task, default: []].insert(node)
                    guard simulation.rejectionRoundTrip > 0 else {
                        if self.backOffIfRoundDeclined(task) { return }
                        continue  // placed again at once
                    }
                    // The answer comes back after the round trip; the task holds its room till then.
                    self.hold(node)
                    self.events.push(time: self.now + simulation.rejectionRoundTrip, task: task, node: node, kind: .rejected)
                    return
                }
                let seconds = delay.seconds
                self.outcome.acceptedBy[task] = node
                if seconds > 0 {
                    self.outcome.delayed[task] = true
                    self.outcome.delayedByNode[node] += 1
                }
                self.hold(node)
                if let slots = simulation.slots, self.busy[node] >= slots {
                    self.queues[node].append((task, seconds))
                } else {
                    self.start(task, on: node, delay: seconds)
                }
                return
            }
        }

        mutating func start(_ task: Int, on node: Int, delay: Double) {
            self.busy[node] += 1
            let work = self.simulation.processing / self.simulation.nodes[node].speed
            self.events.push(time: self.now + delay + work, task: task, node: node, kind: .finished)
        }

        mutating func finish(task: Int, node: Int) {
            self.busy[node] -= 1
            if self.queueHeads[node] < self.queues[node].count {
                let next = self.queues[node][self.queueHeads[node]]
                self.queueHeads[node] += 1
                self.start(next.task, on: node, delay: next.delay)
            }
            self.unhold(node)
            self.answered(task)
            self.roomFreed()
        }

        /// As the server does: once every node with room declined `task` since its last back-off,
        /// the task waits (1 ms, doubling per round, at most 1 s) before it is placed again.
        /// Returns whether it backs off.
        mutating func backOffIfRoundDeclined(_ task: Int) -> Bool {
            guard !self.open.isEmpty, let declined = self.declined[task], declined.count >= self.open.count,
                self.open.allSatisfy(declined.contains)
            else { return false }
            self.declined[task] = nil
            let pause = self.backOff[task] ?? 0.001
            self.backOff[task] = min(pause * 2, 1)
            self.outcome.backOffs += 1
            self.events.push(time: self.now + pause, task: task, node: 0, kind: .retry)
            return true
        }

        /// One more task on `node`; a node that fills leaves the open list.
        mutating func hold(_ node: Int) {
            self.held[node] += 1
            if self.held[node] >= self.nodeLimit {
                let position = self.openPosition[node]
                let last = self.open.removeLast()
                if last != node {
                    self.open[position] = last
                    self.openPosition[last] = position
                }
                self.openPosition[node] = -1
            }
        }

        /// One task less on `node`; a node with room again rejoins the open list.
        mutating func unhold(_ node: Int) {
            self.held[node] -= 1
            if self.openPosition[node] < 0 && self.held[node] < self.nodeLimit {
                self.openPosition[node] = self.open.count
                self.open.append(node)
            }
        }

        /// Room came free: the tasks waiting for it try again, in order, while some node has room.
        mutating func roomFreed() {
            while self.waitingHead < self.waitingForRoom.count && !self.open.isEmpty {
                let task = self.waitingForRoom[self.waitingHead]
                self.waitingHead += 1
                self.place(task)
            }
            if self.waitingHead == self.waitingForRoom.count && self.waitingHead > 0 {
                self.waitingForRoom.removeAll(keepingCapacity: true)
                self.waitingHead = 0
            }
        }

        mutating func answered(_ task: Int) {
            self.tried[task] = []
            self.declined[task] = nil
            self.backOff[task] = nil
            self.outcome.latencies[task] = self.now - self.started[task]
            self.inFlight -= 1
            self.dispatch()
        }
    }

    /// A binary min-heap of completion events, ordered by time, then by insertion (so equal
    /// times are deterministic).
    fileprivate struct EventQueue {
        enum Kind: UInt8 {
            /// A task ends on its node.
            case finished
            /// A rejection reaches the server: the room is freed and the task placed again.
            case rejected
            /// A task's back-off ends: it is placed again.
            case retry
        }

        struct Event {
            var time: Double
            var sequence: UInt64
            var task: Int
            var node: Int
            /// A rejection reaching the server, rather than a task ending.
            var kind: Kind

            func precedes(_ other: Event) -> Bool {
                self.time < other.time || (self.time == other.time && self.sequence < other.sequence)
            }
        }

        private var heap: [Event] = []
        private var sequence: UInt64 = 0

        mutating func push(time: Double, task: Int, node: Int, kind: Kind) {
            self.sequence += 1
            self.heap.append(Event(time: time, sequence: self.sequence, task: task, node: node, kind: kind))
            var child = self.heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard self.heap[child].precedes(self.heap[parent]) else { break }
                self.heap.swapAt(child, parent)
                child = parent
            }
        }

        mutating func pop() -> Event? {
            guard let first = self.heap.first else { return nil }
            let last = self.heap.removeLast()
            if !self.heap.isEmpty {
                self.heap[0] = last
                var parent = 0
                while true {
                    let left = 2 * parent + 1
                    let right = left + 1
                    var smallest = parent
                    if left < self.heap.count && self.heap[left].precedes(self.heap[smallest]) { smallest = left }
                    if right < self.heap.count && self.heap[right].precedes(self.heap[smallest]) { smallest = right }
                    guard smallest != parent else { break }
                    self.heap.swapAt(parent, smallest)
                    parent = smallest
                }
            }
            return first
        }
    }
}
