import DistributedImaging
import Synchronization
import Testing

/// The fault-injecting wrapper on its own: each fault happens when asked, as often as asked, the
/// same way for the same seed.
@Suite("FaultInjectingTransport", .timeLimit(.minutes(1)))
struct FaultInjectingTransportTests {
    /// A node that answers `succeeded` at once, recording the task indices it ran.
    final class CountingExecutor: TaskExecutor {
        let node: NodeID
        let ran = Mutex<[Int]>([])
        init(_ name: String = "n") { self.node = NodeID(name) }
        func execute(_ task: TaskRequest) async -> TaskReceipt {
            self.ran.withLock { $0.append(task.taskIndex) }
            return TaskReceipt(for: task, status: .succeeded, node: self.node, elapsed: 0.5)
        }
    }

    static func task(_ index: Int, attempt: Int = 1) -> TaskRequest {
        TaskRequest(
            jobID: JobID("job"), taskIndex: index, inputPath: "in/\(index).png", outputPath: "out/\(index).png",
            pipeline: "identity", attempt: attempt)
    }

    /// Runs `count` calls one after another; returns the indices that threw `unavailable`.
    static func failedIndices(_ connection: any NodeConnection, count: Int) async throws -> [Int] {
        var failed: [Int] = []
        for index in 0..<count {
            do {
                _ = try await connection.run(Self.task(index))
            } catch let error as DistributedImagingError where error.code == .unavailable {
                failed.append(index)
            }
        }
        return failed
    }

    func wrapped(_ executor: CountingExecutor, seed: UInt64, _ faults: FaultInjectingTransport.Faults) throws
        -> (FaultInjectingTransport, any NodeConnection)
    {
        let nodes = InProcessTransport()
        nodes.register(executor)
        let injector = try FaultInjectingTransport(seed: seed, faults: faults)
        return (injector, injector.wrap(nodes.connection(to: executor.node)))
    }

    @Test("Drops about the share asked for, before the node, the same calls for the same seed")
    func drops() async throws {
        let executor = CountingExecutor()
        let (injector, connection) = try self.wrapped(executor, seed: 11, .init(drop: 0.25))
        let dropped = try await Self.failedIndices(connection, count: 400)
        #expect((60...140).contains(dropped.count), "about a quarter of 400, got \(dropped.count)")
        #expect(injector.statistics(for: executor.node).dropped == dropped.count)
        #expect(injector.statistics(for: executor.node).calls == 400)
        #expect(executor.ran.withLock { $0 } == (0..<400).filter { !dropped.contains($0) }, "a dropped call never reaches the node")

        let (_, again) = try self.wrapped(CountingExecutor(), seed: 11, .init(drop: 0.25))
        #expect(try await Self.failedIndices(again, count: 400) == dropped, "the same seed drops the same calls")
        let (_, other) = try self.wrapped(CountingExecutor(), seed: 12, .init(drop: 0.25))
        #expect(try await Self.failedIndices(other, count: 400) != dropped, "another seed drops others")
        // Enabling another fault keeps the drops where they were.
        let (_, more) = try self.wrapped(CountingExecutor(), seed: 11, .init(drop: 0.25, duplicate: 0.5))
        #expect(try await Self.failedIndices(more, count: 400) == dropped)
    }

    @Test("A node cut off is unavailable until restored; an answer in flight when it is cut is lost")
    func cutOffAndRestore() async throws {
        let (reached, reachedContinuation) = AsyncStream.makeStream(of: Void.self)
        let (gate, gateContinuation) = AsyncStream.makeStream(of: Void.self)
        let gated = GatedExecutor(reached: reachedContinuation, gate: gate)
        let nodes = InProcessTransport()
        nodes.register(gated)
        let injector = try FaultInjectingTransport(seed: 1)
        let connection = injector.wrap(nodes.connection(to: gated.node))

        injector.cutOff(gated.node)
        #expect(injector.isCutOff(gated.node))
        let error = await #expect(throws: DistributedImagingError.self) { try await connection.run(Self.task(0)) }
        #expect(error?.code == .unavailable && error?.message.contains("cut off") == true)
        #expect(gated.ran.withLock { $0 } == 0, "a call to a node cut off never reaches it")

        injector.restore(gated.node)
        gateContinuation.yield()
        #expect(try await connection.run(Self.task(1)).status == .succeeded)

        // Cut while the node holds a call: the node finishes, the answer is lost.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let lost = await #expect(throws: DistributedImagingError.self) { try await connection.run(Self.task(2)) }
                #expect(lost?.code == .unavailable)
            }
            for await _ in reached.dropFirst() { break }
            injector.cutOff(gated.node)
            gateContinuation.yield()
            try await group.waitForAll()
        }
        #expect(gated.ran.withLock { $0 } == 2)
        let statistics = injector.statistics(for: gated.node)
        #expect(statistics.refused == 2)
        #expect(statistics.calls == 3)
    }

    @Test("A duplicated call reaches the node twice and is answered once")
    func duplicates() async throws {
        let executor = CountingExecutor()
        let (injector, connection) = try self.wrapped(executor, seed: 5, .init(duplicate: 1))
        let receipt = try await connection.run(Self.task(3))
        #expect(receipt == TaskReceipt(for: Self.task(3), status: .succeeded, node: executor.node, elapsed: 0.5))
        #expect(executor.ran.withLock { $0 } == [3, 3])
        let statistics = injector.statistics(for: executor.node)
        #expect(statistics.duplicated == 1 && statistics.forwarded == 2 && statistics.calls == 1)
    }

    @Test("Delays are drawn from the range, seeded, and the call still gets its answer")
    func delays() async throws {
        func recordedDelays(seed: UInt64) async throws -> [Duration] {
            let slept = Mutex<[Duration]>([])
            let nodes = InProcessTransport()
            nodes.register(CountingExecutor())
            let injector = try FaultInjectingTransport(
                seed: seed, faults: .init(delay: 0.5, delays: .milliseconds(5) ... .milliseconds(15)),
                sleep: { duration in slept.withLock { $0.append(duration) } })
            let connection = injector.wrap(nodes.connection(to: NodeID("n")))
            for index in 0..<100 { #expect(try await connection.run(Self.task(index)).status == .succeeded) }
            #expect(injector.statistics.delayed == slept.withLock { $0.count })
            return slept.withLock { $0 }
        }
        let delays = try await recordedDelays(seed: 3)
        #expect((30...70).contains(delays.count), "about half of 100 calls wait, got \(delays.count)")
        #expect(delays.allSatisfy { (Duration.milliseconds(5) ... .milliseconds(15)).contains($0) })
        #expect(Set(delays).count > delays.count / 2, "delays vary")
        #expect(try await recordedDelays(seed: 3) == delays, "the same seed waits the same")
    }

    @Test("A call held back is overtaken by the next call to the node")
    func reorders() async throws {
        let executor = CountingExecutor()
        // The hold limit only bounds a failing test: the second call must release the first.
        let (injector, connection) = try self.wrapped(executor, seed: 9, .init(reorder: 1, holdLimit: .seconds(30)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { _ = try await connection.run(Self.task(1)) }
            while injector.statistics.reordered == 0 { await Task.yield() }
            try injector.setFaults(.none)
            _ = try await connection.run(Self.task(2))
            try await group.waitForAll()
        }
        #expect(executor.ran.withLock { $0 } == [2, 1], "the held call reached the node after the later one")
        #expect(injector.statistics.reordered == 1)
    }

    @Test("A lost answer: the node ran the task, the caller gets unavailable")
    func lostAnswers() async throws {
        let executor = CountingExecutor()
        let (injector, connection) = try self.wrapped(executor, seed: 2, .init())
        try injector.setFaults(.init(loseAnswer: 1), for: executor.node)
        #expect(injector.faults(for: NodeID("other")) == .none, "other nodes keep the faults for every node")
        let error = await #expect(throws: DistributedImagingError.self) { try await connection.run(Self.task(4)) }
        #expect(error?.code == .unavailable && error?.message.contains("lost") == true)
        #expect(executor.ran.withLock { $0 } == [4])
        #expect(injector.statistics(for: executor.node).lostAnswers == 1)
    }

    @Test("A wrapped directory's connections are wrapped every time it is read")
    func directories() async throws {
        let executor = CountingExecutor("d")
        let nodes = InProcessTransport()
        nodes.register(executor)
        let injector = try FaultInjectingTransport(seed: 4)
        let directory = injector.wrap(try StaticNodeDirectory(nodes.connections()))
        injector.cutOff(executor.node)
        let connection = try #require(directory.connections().first)
        await #expect(throws: DistributedImagingError.self) { try await connection.run(Self.task(0)) }
        #expect(injector.statistics.refused == 1)
    }

    @Test("Chances outside 0...1 and negative durations are refused", arguments: [
        FaultInjectingTransport.Faults(drop: 1.5), .init(delay: -0.1), .init(duplicate: .nan), .init(reorder: 2),
        .init(loseAnswer: -1), .init(delays: .seconds(-1) ... .seconds(1)), .init(holdLimit: .seconds(-1)),
    ])
    func invalidFaults(_ faults: FaultInjectingTransport.Faults) throws {
        let error = #expect(throws: DistributedImagingError.self) { try FaultInjectingTransport(seed: 1, faults: faults) }
        #expect(error?.code == .invalidConfiguration)
        let injector = try FaultInjectingTransport(seed: 1)
        #expect(throws: DistributedImagingError.self) { try injector.setFaults(faults) }
    }
}

/// A node that says when a call reached it, then answers once its gate opens (calls come one
/// at a time).
final class GatedExecutor: TaskExecutor {
    let node = NodeID("gated")
    let ran = Mutex<Int>(0)
    private let reached: AsyncStream<Void>.Continuation
    private let gate: AsyncStream<Void>

    init(reached: AsyncStream<Void>.Continuation, gate: AsyncStream<Void>) {
        self.reached = reached
        self.gate = gate
    }

    func execute(_ task: TaskRequest) async -> TaskReceipt {
        self.ran.withLock { $0 += 1 }
        self.reached.yield()
        for await _ in self.gate { break }
        return TaskReceipt(for: task, status: .succeeded, node: self.node)
    }
}
