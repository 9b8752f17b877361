import Foundation
import ServiceLifecycle
import Synchronization
import Testing

@testable import DistributedImaging

/// Jobs as records: start and watch, list, cancel, resume from a store, and the shared,
/// round-robin dispatch bound.
@Suite("Job lifecycle")
struct JobLifecycleTests {
    /// A storage root with `name/` holding `count` image-named files for each name.
    func withDirectories<T>(_ counts: [String: Int], _ body: (SharedStorage) async throws -> T) async throws -> T {
        try await withTemporaryDirectory { root in
            for (name, count) in counts {
                try FileManager.default.createDirectory(atPath: "\(root)/\(name)", withIntermediateDirectories: true)
                for index in 0..<count { try TestImages.write(text: "x", to: "\(root)/\(name)/\(index).png") }
            }
            return try await body(try SharedStorage(root: root))
        }
    }

    func server(
        _ storage: SharedStorage, _ nodes: any NodeDirectory, store: any JobStore = InMemoryJobStore(), bound: Int = 8
    ) throws -> ImagingServer {
        try ImagingServer(
            configuration: .init(maxAttempts: 5, maxConcurrentTasks: bound, seed: 3), storage: storage, nodes: nodes,
            store: store, logger: silentLogger)
    }

    /// Polls `condition` every 10 ms for at most 10 s.
    func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !(try await condition()) {
            guard ContinuousClock.now < deadline else { throw TestFailure("timed out waiting until \(what)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test("Jobs holding as many turns get them in the order they asked: one at a time each, so round-robin")
    func fairShareIsRoundRobin() async throws {
        let share = FairShare(bound: 1, recordingGrants: true)
        let (a, b) = (JobID("a"), JobID("b"))
        #expect(await share.acquire(for: a))
        let second = Task { await share.acquire(for: b) }
        try await self.eventually("b waits") { share.waiting == 1 }
        let third = Task { await share.acquire(for: a) }
        try await self.eventually("a waits too") { share.waiting == 2 }
        share.release(for: a)
        #expect(await second.value)
        share.release(for: b)
        #expect(await third.value)
        #expect(share.grants == [a, b, a])
        share.release(for: a)
    }

    @Test("A freed turn goes to the waiting job that holds the fewest, before one that asked earlier")
    func fairShareFavoursTheJobHoldingFewer() async throws {
        let share = FairShare(bound: 3, recordingGrants: true)
        let (a, b) = (JobID("a"), JobID("b"))
        for _ in 0..<3 { #expect(await share.acquire(for: a)) }
        let fourthOfA = Task { await share.acquire(for: a) }
        try await self.eventually("a waits") { share.waiting == 1 }
        let firstOfB = Task { await share.acquire(for: b) }
        try await self.eventually("b waits too") { share.waiting == 2 }
        // a holds 2 once it gives one back, b none: b gets it, though a asked first.
        share.release(for: a)
        #expect(await firstOfB.value)
        #expect(share.grants == [a, a, a, b])
        // Only a waits now: the turn b gives back goes to it.
        share.release(for: b)
        #expect(await fourthOfA.value)
        #expect(share.grants == [a, a, a, b, a])
        for _ in 0..<3 { share.release(for: a) }
    }

    @Test("A small job submitted behind a large one is dispatched alongside it, not after it")
    func smallJobIsNotStarved() async throws {
        try await self.withDirectories(["big": 400, "small": 10]) { storage in
            let node = GatedConnection("n", holdAfter: 40) { $0.inputPath.hasPrefix("big/") }
            let server = try self.server(storage, try StaticNodeDirectory([node]), bound: 4)
            let big = try await server.start(JobRequest(inputDirectory: "big", pipeline: "identity"))
            try await self.eventually("40 big tasks ran") { node.log.count >= 40 }
            // The fault hit: the large job holds every turn and has most of its tasks to go.
            #expect(node.log.count < 400)
            #expect(server.runningJobs == [big])
            let smallJob = Task { try await server.submit(JobRequest(inputDirectory: "small", pipeline: "identity")) }
            // Both jobs wait for a turn (the large one holds all 4, on the gate): open it.
            try await self.eventually("both jobs wait for a turn") { server.share.waiting == 2 }
            node.gate.open()
            let small = try await smallJob.value
            #expect(small.status == .succeeded)
            for try await _ in try await server.watch(big) {}
            let log = node.log
            let first = try #require(log.firstIndex { $0.hasPrefix("small/") })
            let last = try #require(log.lastIndex { $0.hasPrefix("small/") })
            let bigBetween = log[first...last].count { $0.hasPrefix("big/") }
            // Round-robin: about one large task per small one, give or take a loaded machine's
            // scheduling; a first-come-first-served bound would run the ~356 left first.
            #expect(bigBetween <= 100, "\(bigBetween) big tasks ran while the small job did")
            #expect(log.count == 410)
        }
    }

    @Test("start returns an id; watch begins with a snapshot; jobs lists it; cancel ends it cancelled")
    func startWatchListCancel() async throws {
        try await self.withDirectories(["in": 5]) { storage in
            let node = GatedConnection("n", holdAfter: 0) { _ in true }
            let server = try self.server(storage, try StaticNodeDirectory([node]))
            let id = try await server.start(JobRequest(inputDirectory: "in", pipeline: "identity"))
            let listed = try await server.jobs()
            #expect(listed.map(\.id) == [id])
            #expect(listed.first?.state == .running)
            var events = try await server.watch(id).makeAsyncIterator()
            guard case .snapshot(let record)? = try await events.next() else { throw TestFailure("no snapshot first") }
            #expect(record.id == id && record.tasks == 5 && record.state == .running)
            try await self.eventually("tasks are on the node") { node.log.count > 0 }

            let cancelled = try await server.cancel(id)
            #expect(cancelled.id == id)
            var receipt: JobReceipt?
            while let event = try await events.next() {
                if case .finished(let final) = event { receipt = final }
            }
            #expect(receipt?.status == .cancelled)
            #expect(try await server.jobs().first?.state == .cancelled)
            let again = await #expect(throws: DistributedImagingError.self) { try await server.cancel(id) }
            #expect(again?.code == .invalidArgument)

            // After the end: the snapshot and the receipt, from the store.
            var after: [JobEvent] = []
            for try await event in try await server.watch(id) { after.append(event) }
            guard case .snapshot(let final)? = after.first, case .finished(let stored)? = after.last else {
                throw TestFailure("after the end: \(after)")
            }
            #expect(final.state == .cancelled && stored.status == .cancelled && after.count == 2)
            let unknown = await #expect(throws: DistributedImagingError.self) { try await server.watch(JobID("nope")) }
            #expect(unknown?.code == .notFound)
        }
    }

    @Test("A seeded server started again on the same store draws new job ids, never a stored job's")
    func seededIDsAreNotReused() async throws {
        try await self.withDirectories(["in": 1]) { storage in
            let store = InMemoryJobStore()
            let node = try StaticNodeDirectory([ScriptedConnection.accepting("n")])
            let first = try await self.server(storage, node, store: store).submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
            // Same seed, same store: the generator's first id is the stored job's.
            let second = try await self.server(storage, node, store: store).submit(
                JobRequest(inputDirectory: "in", pipeline: "identity", force: true))
            #expect(first.jobID != second.jobID)
            #expect(Set(try await store.jobs().map(\.id)) == [first.jobID, second.jobID])
        }
    }

    @Test("A watcher that attaches late starts from the counts so far")
    func lateWatcherGetsCounts() async throws {
        try await self.withDirectories(["in": 6]) { storage in
            let node = GatedConnection("n", holdAfter: 3) { _ in true }
            let server = try self.server(storage, try StaticNodeDirectory([node]), bound: 1)
            let id = try await server.start(JobRequest(inputDirectory: "in", pipeline: "identity"))
            try await self.eventually("3 tasks succeeded") { try await server.jobs().first?.succeeded == 3 }
            var events = try await server.watch(id).makeAsyncIterator()
            guard case .snapshot(let record)? = try await events.next() else { throw TestFailure("no snapshot first") }
            #expect(record.succeeded == 3 && record.failed == 0 && record.tasks == 6)
            node.gate.open()
            var progress = JobProgress()
            progress.record(.snapshot(record), at: 0)
            while let event = try await events.next() { progress.record(event, at: 1) }
            #expect(progress.succeeded == 6 && progress.isFinished)
        }
    }

    @Test("A resumed job keeps the recorded tasks, places the others again and says which were in flight")
    func resumeFromTheStore() async throws {
        try await self.withDirectories(["in": 6]) { storage in
            let store = InMemoryJobStore()
            let id = JobID("resumed")
            let request = JobRequest(inputDirectory: "in", pipeline: "identity")
            let planned = (0..<6).map { PlannedTask(index: $0, input: "in/\($0).png", output: "in-out/\($0).png") }
            try await store.create(
                JobRecord(
                    id: id, request: request, input: "in", output: "in-out", pipeline: "identity", tasks: 6, skipped: 0,
                    submitted: Date()),
                tasks: planned, skipped: [])
            let done = (0..<2).map { index in
                JobReceipt.Task(
                    input: "in/\(index).png", output: "in-out/\(index).png", status: .succeeded, node: NodeID("before"),
                    attempts: 1)
            }
            try await store.apply([
                .completed(id, taskIndex: 0, done[0]), .completed(id, taskIndex: 1, done[1]),
                .placed(id, taskIndex: 2, node: NodeID("before"), attempt: 1),
            ])
            // No node at first: the resumed job waits instead of failing.
            let directory = ImagingServerTests.ChangingDirectory()
            let node = ScriptedConnection.accepting("after")
            let server = try self.server(storage, directory, store: store)
            #expect(try await server.resumeJobs() == [id])
            var events = try await server.watch(id).makeAsyncIterator()
            guard case .snapshot(let record)? = try await events.next() else { throw TestFailure("no snapshot first") }
            #expect(record.succeeded == 2 && record.state == .running)
            #expect(node.calls.load(ordering: .relaxed) == 0)
            directory.nodes.withLock { $0 = [node] }
            var receipt: JobReceipt?
            while let event = try await events.next() {
                if case .finished(let final) = event { receipt = final }
            }
            let final = try #require(receipt)
            #expect(final.status == .succeeded)
            #expect(final.tasks.map(\.input) == planned.map(\.input))
            #expect(node.calls.load(ordering: .relaxed) == 4)
            #expect(final.tasks.filter { $0.node == NodeID("before") }.map(\.input) == ["in/0.png", "in/1.png"])
            let replaced = try #require(final.tasks.first { $0.input == "in/2.png" })
            #expect(replaced.lostAttempts.count == 1)
            #expect(replaced.lostAttempts.first?.contains("in flight when the server stopped") == true)
            #expect(replaced.attempts == 1)
            #expect(try await store.jobs().first?.state == .succeeded)
            let onDisk = try JobReceipt.decodeJSON(
                Array(try Data(contentsOf: URL(fileURLWithPath: storage.root + "/in-out/receipt.json"))), source: "receipt.json")
            #expect(onDisk.tasks.count == 6 && onDisk.status == .succeeded)
        }
    }

    @Test(
        "Shutdown past the grace period: in memory, tasks not ended fail with the reason; durable, the job stays running in the store",
        arguments: [false, true])
    func shutdownPastGracePeriod(durable: Bool) async throws {
        try await self.withDirectories(["in": 6]) { storage in
            let node = GatedConnection("n", holdAfter: 2) { _ in true }
            let store = InMemoryJobStore()
            var configuration = ServerConfiguration(maxAttempts: 5, maxConcurrentTasks: 2, seed: 3)
            configuration.shutdownGracePeriod = .milliseconds(50)
            let server = try ImagingServer(
                configuration: configuration, storage: storage, nodes: try StaticNodeDirectory([node]), store: store,
                durable: durable, logger: silentLogger)
            let group = ServiceGroup(configuration: .init(services: [server], logger: silentLogger))
            let service = Task { try await group.run() }
            let job = Task { try await server.submit(JobRequest(inputDirectory: "in", pipeline: "identity")) }
            // The fault hits a running job: two tasks held on the node.
            try await self.eventually("two tasks are held") { node.log.count == 4 }
            await group.triggerGracefulShutdown()
            try await service.value
            #expect(node.log.count == 4)
            let record = try #require(try await store.jobs().first)
            if durable {
                let error = await #expect(throws: DistributedImagingError.self) { try await job.value }
                #expect(error?.code == .unavailable && error?.message.contains("resumes") == true)
                #expect(record.state == .running)
                let stored = try #require(try await store.load(record.id))
                #expect(stored.outcomes.count == 2 && stored.inFlight.count == 2)
            } else {
                let receipt = try await job.value
                #expect(receipt.status == .failed && receipt.counts.succeeded == 2 && receipt.counts.failed == 4)
                #expect(receipt.tasks.filter { $0.status == .failed }.allSatisfy { $0.error?.contains("grace period") == true })
                #expect(record.state == .failed)
            }
        }
    }
}

/// A node that records every task it gets, in order, and holds the matching ones after the
/// first `holdAfter` calls until its gate opens (or the call is cancelled).
final class GatedConnection: NodeConnection {
    let node: NodeID
    let gate = Gate()
    private let calls = Mutex<[String]>([])
    private let holdAfter: Int
    private let holds: @Sendable (TaskRequest) -> Bool

    init(_ name: String, holdAfter: Int, holds: @escaping @Sendable (TaskRequest) -> Bool) {
        self.node = NodeID(name)
        self.holdAfter = holdAfter
        self.holds = holds
    }

    /// The inputs of the calls so far, in order.
    var log: [String] { self.calls.withLock { $0 } }

    func run(_ task: TaskRequest) async throws -> TaskReceipt {
        let count = self.calls.withLock { calls in
            calls.append(task.inputPath)
            return calls.count
        }
        if count > self.holdAfter && self.holds(task) {
            try await self.gate.wait()
        }
        return TaskReceipt(for: task, status: .succeeded, node: self.node)
    }
}

/// Closed until opened; waiting is cancellable.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [UInt64: CheckedContinuation<Void, any Error>], next: UInt64)>((false, [:], 0))

    func open() {
        let waiters = self.state.withLock { state in
            state.open = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async throws {
        let id = self.state.withLock { state in
            state.next += 1
            return state.next
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let now = self.state.withLock { state -> Bool in
                    if state.open || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now {
                    if Task.isCancelled { continuation.resume(throwing: CancellationError()) } else { continuation.resume() }
                }
            }
        } onCancel: {
            self.state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }
}

/// A test's own failure, with a message.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
