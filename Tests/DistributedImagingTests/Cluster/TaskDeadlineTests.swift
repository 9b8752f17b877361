import Foundation
import Synchronization
import Testing

@testable import DistributedImaging

/// The per-task deadline counts only the node's own time on a task, and a job never piles more
/// than the server's node room (by default twice a node's slots) onto it.
@Suite("Task deadline and per-node bound")
struct TaskDeadlineTests {
    /// Delays task 0 by `first`, every other task by nothing.
    struct FirstTaskDelayed: Scheduler {
        var first: Duration
        func decide(on task: TaskRequest, load: Double, using generator: inout some RandomNumberGenerator) -> SchedulingDecision {
            .accept(delay: task.taskIndex == 0 ? self.first : .zero)
        }
    }

    func task(_ index: Int, runTimeout: Duration? = nil) -> TaskRequest {
        TaskRequest(
            jobID: JobID("j"), taskIndex: index, inputPath: "in/img-0000.png", outputPath: "out/\(index).png",
            pipeline: "identity", runTimeout: runTimeout)
    }

    @Test("A task past its deadline fails with the reason, without waiting out its delay")
    func pastDeadline() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 1, into: "\(root)/in")
            let node = try ImagingNode(
                configuration: .init(name: "n", policy: .mandatory, load: 0, maxConcurrentTasks: 1),
                storage: try SharedStorage(root: root), scheduler: FirstTaskDelayed(first: .seconds(60)), logger: silentLogger)
            let start = ContinuousClock.now
            let receipt = await node.execute(self.task(0, runTimeout: .milliseconds(50)))
            #expect(receipt.status == .failed)
            #expect(receipt.error?.contains("ran past the task deadline of 0.05 s on node 'n'") == true, "\(receipt.error ?? "")")
            #expect(ContinuousClock.now - start < .seconds(30), "the 60 s delay was cut short")
            #expect(node.activeTasks == 0, "the slot is free again")
        }
    }

    @Test("Time in the node's queue does not count against the deadline")
    func queueWaitNotCounted() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 1, into: "\(root)/in")
            let node = try ImagingNode(
                configuration: .init(name: "n", policy: .mandatory, load: 0, maxConcurrentTasks: 1),
                storage: try SharedStorage(root: root), scheduler: FirstTaskDelayed(first: .milliseconds(600)),
                logger: silentLogger)
            async let holder = node.execute(self.task(0))
            let deadline = ContinuousClock.now + .seconds(10)
            while node.activeTasks == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
            try #require(node.activeTasks == 1, "task 0 holds the only slot")
            let queued = await node.execute(self.task(1, runTimeout: .milliseconds(300)))
            // The fault hit: task 1 spent longer than its deadline waiting for the slot...
            try #require(queued.elapsed > 0.3, "task 1 did not wait in the queue longer than its deadline (\(queued.elapsed) s)")
            // ...and still succeeded, since its own work took far less.
            #expect(queued.status == .succeeded, "\(queued.error ?? "")")
            #expect(await holder.status == .succeeded)
        }
    }

    @Test("The server sends its task timeout with every attempt")
    func serverSendsDeadline() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 3, into: "\(root)/in")
            let recorder = RecordingExecutor(node: NodeID("r"))
            let transport = InProcessTransport()
            transport.register(recorder)
            var configuration = ServerConfiguration.defaults
            configuration.taskTimeout = .seconds(42)
            let server = try ImagingServer(
                configuration: configuration, storage: try SharedStorage(root: root), nodes: transport.connections(),
                logger: silentLogger)
            _ = try await server.submit(JobRequest(inputDirectory: "in", pipeline: "identity")) { _ in }
            #expect(recorder.timeouts == [.seconds(42), .seconds(42), .seconds(42)])
            #expect(ServerConfiguration.defaults.taskTimeout == .seconds(600), "on by default: 10 minutes")
        }
    }

    @Test(
        "A job keeps at most the node room (default 2 × slots) of its tasks on a node that never answers; the others go elsewhere",
        arguments: [NodeRoom.default, .perSlot(3), .unbounded])
    func boundedPerNode(room: NodeRoom) async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 40, into: "\(root)/in")
            let stuck = HangingExecutor(node: NodeID("stuck"), slots: 2)
            let healthy = try ImagingNode(
                configuration: .init(name: "healthy", policy: .mandatory, load: 0, maxConcurrentTasks: 2),
                storage: try SharedStorage(root: root), logger: silentLogger)
            let transport = InProcessTransport()
            transport.register(stuck)
            transport.register(healthy)
            var configuration = ServerConfiguration(maxConcurrentTasks: 64, seed: 3)
            configuration.nodeRoom = room
            let server = try ImagingServer(
                configuration: configuration, storage: try SharedStorage(root: root),
                nodes: transport.connections(), logger: silentLogger)
            let job = Task { try await server.submit(JobRequest(inputDirectory: "in", pipeline: "identity")) { _ in } }
            // All tasks but those held by the stuck node finish on the healthy one.
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                let outputs = (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/in-out"))?.filter { $0.hasSuffix(".png") }
                if (outputs?.count ?? 0) + stuck.held == 40 && stuck.held > 0 { break }
                try await Task.sleep(for: .milliseconds(5))
            }
            switch room {
            case .perSlot(let perSlot):
                #expect(stuck.held == perSlot * 2, "exactly \(perSlot) × 2 slots held by the stuck node")
                #expect(stuck.mostHeld == perSlot * 2)
            case .unbounded:
                // The seed's dispatch: the stuck node keeps every task placement sent it (about
                // half), more than any room of 4 per slot would allow.
                #expect(stuck.held > 8, "held \(stuck.held)")
            }
            // Unplug the stuck node: its calls fail, the tasks go to the healthy node.
            stuck.release()
            let receipt = try await job.value
            #expect(receipt.status == .succeeded)
            #expect(receipt.counts.succeeded == 40, "\(receipt.tasks.filter { $0.status != .succeeded })")
        }
    }

    @Test("Placement sees at least the tasks the server holds on a node, whatever the node last advertised")
    func placementSeesHeldTasks() async throws {
        try await withTemporaryDirectory { root in
            // It advertises an idle node for good, as a heartbeat from before the jobs would.
            let stuck = HangingExecutor(
                node: NodeID("stuck"), slots: 2, advertising: NodeState(policy: .mandatory, load: 0, slots: 2))
            let transport = InProcessTransport()
            transport.register(stuck)
            let placement = RecordingPlacement()
            var configuration = ServerConfiguration(maxAttempts: 1, maxConcurrentTasks: 64, seed: 3)
            configuration.nodeRoom = .unbounded
            let server = try ImagingServer(
                configuration: configuration, storage: try SharedStorage(root: root), nodes: transport.connections(),
                placement: placement, logger: silentLogger)
            // One one-image job at a time, each started once the previous one's task is held.
            var jobs: [JobID] = []
            for index in 0..<3 {
                try TestImages.writePNGs(count: 1, into: "\(root)/in-\(index)")
                jobs.append(try await server.start(JobRequest(inputDirectory: "in-\(index)", pipeline: "identity")))
                let deadline = ContinuousClock.now + .seconds(30)
                while ContinuousClock.now < deadline && stuck.held <= index { try await Task.sleep(for: .milliseconds(5)) }
                try #require(stuck.held == index + 1)
            }
            // Each placement saw the tasks the server already held there, not the advertised 0.
            #expect(placement.held == [0, 1, 2])
            stuck.release()
            for job in jobs {
                var receipt: JobReceipt?
                for try await event in try await server.watch(job) {
                    if case .finished(let final) = event { receipt = final }
                }
                #expect(receipt?.counts.failed == 1)
            }
        }
    }

    @Test("NodeOccupancy: the limit, and waiters woken by a release")
    func occupancy() async throws {
        let occupancy = NodeOccupancy()
        let node = NodeID("a")
        #expect(occupancy.limit(slots: 3) == 6)
        #expect(occupancy.limit(slots: nil) == 2 * NodeConfiguration.defaultMaxConcurrentTasks)
        #expect(NodeOccupancy(room: .perSlot(5)).limit(slots: 3) == 15)
        #expect(NodeOccupancy(room: .unbounded).limit(slots: 3) == .max)
        // Slots come from the wire: a huge advertised count saturates instead of trapping.
        #expect(NodeRoom.perSlot(1000).limit(slots: .max) == .max)
        for _ in 0..<2 { #expect(occupancy.take(node, slots: 1)) }
        #expect(!occupancy.take(node, slots: 1))
        let generation = occupancy.generation
        async let woken: Void = occupancy.waitForRoom(after: generation)
        occupancy.release(node)
        await woken
        #expect(occupancy.hasRoom(node, slots: 1))
    }
}

/// Records the deadline of every task and succeeds.
private final class RecordingExecutor: TaskExecutor {
    let node: NodeID
    private let seen = Mutex<[Duration?]>([])
    init(node: NodeID) { self.node = node }
    var timeouts: [Duration?] { self.seen.withLock { $0 } }
    func execute(_ task: TaskRequest) async -> TaskReceipt {
        self.seen.withLock { $0.append(task.runTimeout) }
        return TaskReceipt(for: task, status: .succeeded, node: self.node, elapsed: 0, delayed: false, error: nil)
    }
}

/// Accepts tasks and never answers them until ``release()``; then answers every call `rejected`
/// (as a node that went away and came back without the work).
private final class HangingExecutor: TaskExecutor {
    let node: NodeID
    let slots: Int?
    /// What it advertises, whatever it holds (a heartbeat from before the tasks came).
    let advertisedState: NodeState?
    private struct State {
        var held = 0
        var mostHeld = 0
        var released = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())
    init(node: NodeID, slots: Int, advertising advertisedState: NodeState? = nil) {
        self.node = node
        self.slots = slots
        self.advertisedState = advertisedState
    }
    var held: Int { self.state.withLock { $0.held } }
    var mostHeld: Int { self.state.withLock { $0.mostHeld } }
    func release() {
        let waiters = self.state.withLock { state in
            state.released = true
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }
    func execute(_ task: TaskRequest) async -> TaskReceipt {
        await withCheckedContinuation { continuation in
            let now = self.state.withLock { state -> Bool in
                if state.released { return true }
                state.held += 1
                state.mostHeld = max(state.mostHeld, state.held)
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
        self.state.withLock { $0.held = max(0, $0.held - 1) }
        return TaskReceipt(for: task, status: .rejected, node: self.node, elapsed: 0, delayed: false, error: "came back empty")
    }
}

/// Random placement that records, for every placement, the busy and queued tasks its one
/// candidate was seen with.
private final class RecordingPlacement: Placement {
    private let seen = Mutex<[Int]>([])
    var held: [Int] { self.seen.withLock { $0 } }
    func choose(
        for task: TaskRequest, among nodes: [NodeID], tried: [NodeID], using generator: inout some RandomNumberGenerator
    ) -> Int {
        Int.random(in: 0..<nodes.count, using: &generator)
    }
    func choose(
        for task: TaskRequest, among candidates: [PlacementCandidate], tried: [NodeID],
        using generator: inout some RandomNumberGenerator
    ) -> Int {
        let state = candidates.first?.state
        self.seen.withLock { $0.append((state?.busySlots ?? -1) + (state?.queueLength ?? 0)) }
        return self.choose(for: task, among: candidates.map(\.node), tried: tried, using: &generator)
    }
}
