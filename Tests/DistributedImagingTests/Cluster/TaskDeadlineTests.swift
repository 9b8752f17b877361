import Foundation
import Synchronization
import Testing

@testable import DistributedImaging

/// The per-task deadline counts only the node's own time on a task, and a job never piles more
/// than twice a node's slots onto it.
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

    @Test("A job keeps at most 2 × slots of its tasks on a node that never answers; the others go elsewhere")
    func boundedPerNode() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 40, into: "\(root)/in")
            let stuck = HangingExecutor(node: NodeID("stuck"), slots: 2)
            let healthy = try ImagingNode(
                configuration: .init(name: "healthy", policy: .mandatory, load: 0, maxConcurrentTasks: 2),
                storage: try SharedStorage(root: root), logger: silentLogger)
            let transport = InProcessTransport()
            transport.register(stuck)
            transport.register(healthy)
            let server = try ImagingServer(
                configuration: .init(maxConcurrentTasks: 64, seed: 3), storage: try SharedStorage(root: root),
                nodes: transport.connections(), logger: silentLogger)
            let job = Task { try await server.submit(JobRequest(inputDirectory: "in", pipeline: "identity")) { _ in } }
            // All tasks but those held by the stuck node finish on the healthy one.
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                let outputs = (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/in-out"))?.filter { $0.hasSuffix(".png") }
                if (outputs?.count ?? 0) + stuck.held == 40 && stuck.held > 0 { break }
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(stuck.held == 4, "exactly 2 × 2 slots held by the stuck node")
            #expect(stuck.mostHeld == 4)
            // Unplug the stuck node: its calls fail, the tasks go to the healthy node.
            stuck.release()
            let receipt = try await job.value
            #expect(receipt.status == .succeeded)
            #expect(receipt.counts.succeeded == 40, "\(receipt.tasks.filter { $0.status != .succeeded })")
        }
    }

    @Test("NodeOccupancy: the limit, and waiters woken by a release")
    func occupancy() async throws {
        let occupancy = NodeOccupancy()
        let node = NodeID("a")
        #expect(NodeOccupancy.limit(slots: 3) == 6)
        #expect(NodeOccupancy.limit(slots: nil) == 2 * NodeConfiguration.defaultMaxConcurrentTasks)
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
    private struct State {
        var held = 0
        var mostHeld = 0
        var released = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())
    init(node: NodeID, slots: Int) {
        self.node = node
        self.slots = slots
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
