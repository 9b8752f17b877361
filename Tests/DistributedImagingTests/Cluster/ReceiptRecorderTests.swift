import Foundation
import Synchronization
import Testing

@testable import DistributedImaging

/// How often `receipt.json` is rewritten while a job runs, and the order of the final write.
///
/// The recorder's clock is a ``ManualTime`` that only the tests move: a completion moves it by
/// the time between completions, a write by what the test says that write costs. Writes run
/// inline (or queued, where the order is the point), so nothing depends on the machine's speed.
@Suite("ReceiptRecorder")
struct ReceiptRecorderTests {
    /// One write as the injected writer saw it.
    struct Write: Sendable {
        /// The manual clock when the write started, and what it cost.
        var start: ContinuousClock.Instant
        var cost: Duration
        var receipt: JobReceipt
    }

    /// A recorder on a manual clock whose writes are captured, not written to disk.
    final class Harness: Sendable {
        /// What the injected executor and writer share with the test.
        final class Shared: Sendable {
            let written = Mutex<[Write]>([])
            /// Work held back while `holding` (the executor queues instead of running it).
            let held = Mutex<(holding: Bool, queue: [@Sendable () -> Void])>((false, []))
        }

        let time: ManualTime
        let shared: Shared
        let recorder: ReceiptRecorder
        let start: ContinuousClock.Instant

        /// - Parameter cost: What a write of `bytes` costs on the manual clock.
        init(cost: @escaping @Sendable (_ bytes: [UInt8]) -> Duration) {
            let time = ManualTime()
            let shared = Shared()
            let environment = ReceiptRecorder.Environment(
                now: time.read,
                execute: { work in
                    let run = shared.held.withLock { state -> Bool in
                        guard state.holding else { return true }
                        state.queue.append(work)
                        return false
                    }
                    if run { work() }
                },
                write: { bytes, path in
                    #expect(path == "in-out/receipt.json")
                    let receipt = try JobReceipt.decodeJSON(bytes, source: path)
                    let cost = cost(bytes)
                    shared.written.withLock { $0.append(Write(start: time.now, cost: cost, receipt: receipt)) }
                    time.advance(by: cost)
                })
            self.recorder = ReceiptRecorder(
                jobID: JobID("job"), input: "in", output: "in-out", pipeline: "identity", skipped: [], start: time.now,
                environment: environment, logger: silentLogger)
            self.time = time
            self.shared = shared
            self.start = time.now
        }

        var writes: [Write] { self.shared.written.withLock { $0 } }

        static func task(_ index: Int) -> JobReceipt.Task {
            JobReceipt.Task(
                input: "in/\(String(index).leftPadded(to: 6)).png", output: "in-out/\(index).png", status: .succeeded,
                node: NodeID("n1"), attempts: 1)
        }

        /// The job's start (the first write), then `count` completions `every` apart.
        func run(completions count: Int, every spacing: Duration) async {
            await self.recorder.writeNow()
            for index in 0..<count {
                self.time.advance(by: spacing)
                self.recorder.record(.completed(Self.task(index)))
            }
        }
    }

    @Test("After a rewrite that took d, the next starts no sooner than max(0.5 s, 20·d) later; rewrites take under 5 %")
    func intervalGrowsWithWriteCost() async throws {
        // A write costs 40 ns per byte of JSON (~16 µs per entry), so it grows with the receipt.
        let harness = Harness(cost: { .nanoseconds($0.count * 40) })
        let spacing = Duration.milliseconds(1)
        await harness.run(completions: 10_000, every: spacing)
        let writes = harness.writes
        try #require(writes.count >= 6, "the injected writer ran \(writes.count) times")
        #expect(writes.allSatisfy { $0.cost > .zero })
        for (previous, next) in zip(writes, writes.dropFirst()) {
            let wait = max(ReceiptRecorder.minimumInterval, previous.cost * ReceiptRecorder.costFactor)
            let gap = next.start - (previous.start + previous.cost)
            #expect(gap >= wait, "a rewrite \(gap) after one that cost \(previous.cost)")
        }
        // While the receipt is small, the 0.5 s floor sets the pace.
        #expect(writes[2].start - (writes[1].start + writes[1].cost) < ReceiptRecorder.minimumInterval + spacing * 2)
        // Larger receipts cost more, so the gaps grow past the 0.5 s floor.
        let gaps = zip(writes, writes.dropFirst()).map { $1.start - ($0.start + $0.cost) }
        let last = try #require(gaps.last)
        #expect(last > ReceiptRecorder.minimumInterval * 3, "gaps: \(gaps)")
        #expect(last > gaps[1], "gaps: \(gaps)")
        // Writing took at most 1/21 of the time.
        let total = writes.reduce(Duration.zero) { $0 + $1.cost }
        let elapsed = harness.time.now - harness.start
        #expect(total * 100 <= elapsed * 5, "writes took \(total) of \(elapsed)")
        // Every rewrite is a running receipt holding the completions recorded before it started.
        #expect(writes.allSatisfy { $0.receipt.status == .running })
        #expect(writes.map(\.receipt.tasks.count) == writes.map(\.receipt.tasks.count).sorted())
        #expect(writes.last.map { $0.receipt.tasks == $0.receipt.tasks.sorted { $0.input < $1.input } } == true)
    }

    @Test("An expensive writer is called less often than a cheap one over the same completions")
    func expensiveWritesAreSpacedFurther() async throws {
        let cheap = Harness(cost: { .nanoseconds($0.count) })
        let expensive = Harness(cost: { .microseconds($0.count) })
        await cheap.run(completions: 2_000, every: .milliseconds(10))
        await expensive.run(completions: 2_000, every: .milliseconds(10))
        // 20 s of completions: every ~0.5 s when cheap; 1000 times the cost spaces them further.
        #expect((35...45).contains(cheap.writes.count), "cheap: \(cheap.writes.count) writes")
        #expect(expensive.writes.count >= 2, "expensive: \(expensive.writes.count) writes")
        #expect(expensive.writes.count * 3 < cheap.writes.count, "\(expensive.writes.count) vs \(cheap.writes.count)")
        for harness in [cheap, expensive] {
            let total = harness.writes.reduce(Duration.zero) { $0 + $1.cost }
            #expect(total * 100 <= (harness.time.now - harness.start) * 5)
        }
    }

    @Test("Many completions cause a bounded number of writes")
    func manyCompletionsFewWrites() async throws {
        let harness = Harness(cost: { _ in .milliseconds(2) })
        // 10 s of completions, 5 000 of them: at most one write per 0.5 s, plus the first.
        await harness.run(completions: 5_000, every: .milliseconds(2))
        let count = harness.writes.count
        #expect(count >= 2, "the injected writer ran \(count) times")
        #expect(count <= 1 + 20)
        let final = await harness.recorder.finish(
            JobReceipt(
                jobID: JobID("job"), status: .succeeded, input: "in", output: "in-out", pipeline: "identity",
                tasks: (0..<5_000).reversed().map(Harness.task), elapsed: 10, message: "done"))
        #expect(harness.writes.count == count + 1)
        #expect(harness.recorder.writes == count + 1)
        #expect(harness.writes.last?.receipt == final)
        #expect(final.tasks.first?.input == Harness.task(0).input)
        // No rewrite after the final one, whatever comes late.
        harness.time.advance(by: .seconds(10))
        harness.recorder.record(.completed(Harness.task(5_000)))
        #expect(harness.writes.count == count + 1)
    }

    @Test("The final write waits for a rewrite in flight, so the final receipt is the one left on disk")
    func finalWriteAfterRewriteInFlight() async throws {
        let harness = Harness(cost: { _ in .milliseconds(1) })
        await harness.recorder.writeNow()
        harness.time.advance(by: .seconds(1))
        harness.shared.held.withLock { $0.holding = true }
        harness.recorder.record(.completed(Harness.task(0)))
        let queued = harness.shared.held.withLock { $0.queue.count }
        try #require(queued == 1, "the rewrite was not handed to the executor")
        let receipt = JobReceipt(
            jobID: JobID("job"), status: .succeeded, input: "in", output: "in-out", pipeline: "identity",
            tasks: [Harness.task(0)], elapsed: 1, message: "done")
        let finishing = Task { await harness.recorder.finish(receipt) }
        while harness.recorder.waitingWrites == 0 { await Task.yield() }
        // The final write is waiting for its turn: run the rewrite it waits for, then the rest.
        let work = harness.shared.held.withLock { state -> [@Sendable () -> Void] in
            state.holding = false
            defer { state.queue = [] }
            return state.queue
        }
        for item in work { item() }
        let final = await finishing.value
        let statuses = harness.writes.map(\.receipt.status)
        #expect(statuses == [.running, .running, .succeeded])
        #expect(harness.writes.last?.receipt == final)
    }

    @Test("Receipts encoded a chunk of tasks at a time are byte for byte what JSONEncoder writes at once")
    func chunkedEncoding() throws {
        var tasks = (0..<11).map(Harness.task)
        tasks[3].lostAttempts = ["attempt 1 on node 'n2': unreachable: \"quoted\" / slash\nnew line", "second"]
        tasks[4].error = "é ✓ \u{1} tab\t"
        tasks[5].status = .failed
        tasks[5].output = nil
        tasks[6].inputSize = 12
        tasks[6].inputModifiedNanoseconds = 1_700_000_000_123_456_789
        tasks[7].elapsed = 0.000_123_4
        var receipt = JobReceipt(
            jobID: JobID("job"), status: .failed, input: "in", output: "in-out", pipeline: "grayscale | invert",
            tasks: tasks, elapsed: 12.5, message: "1 of 11 tasks failed")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let whole = Array(try encoder.encode(receipt)) + [UInt8(ascii: "\n")]
        for size in [1, 3, 10, 11, 100] {
            let chunked = try JobReceipt.encodeJSON(receipt, tasksPerChunk: size)
            #expect(chunked == whole, "\(size) tasks per chunk: \(String(decoding: chunked, as: UTF8.self))")
        }
        #expect(try JobReceipt.encodeJSON(receipt) == whole)
        receipt.tasks = []
        #expect(try JobReceipt.encodeJSON(receipt, tasksPerChunk: 1) == Array(try encoder.encode(receipt)) + [10])
    }

    @Test("A failed final write is reported in the receipt's message")
    func failedFinalWrite() async throws {
        let recorder = ReceiptRecorder(
            jobID: JobID("job"), input: "in", output: "in-out", pipeline: "identity", skipped: [],
            start: .now,
            environment: .init(
                execute: { $0() },
                write: { _, path in throw DistributedImagingError.io("cannot write '\(path)': No space left on device") }),
            logger: silentLogger)
        let receipt = JobReceipt(
            jobID: JobID("job"), status: .succeeded, input: "in", output: "in-out", pipeline: "identity", tasks: [],
            elapsed: 1, message: "0 of 0 tasks")
        let final = await recorder.finish(receipt)
        #expect(final.message.hasPrefix("0 of 0 tasks; warning: the receipt could not be written to 'in-out/receipt.json'"))
        #expect(final.message.hasSuffix("No space left on device"))
    }

    @Test("The server writes the final receipt.json before it sends the finished event")
    func finalReceiptOnDiskBeforeFinished() async throws {
        try await withTemporaryDirectory { root in
            try FileManager.default.createDirectory(atPath: "\(root)/in", withIntermediateDirectories: true)
            for index in 0..<50 { try TestImages.write(text: "x", to: "\(root)/in/\(index).png") }
            let storage = try SharedStorage(root: root)
            let order = Mutex<[String]>([])
            // Writes go through the storage on NIO's pool, as in production, and are logged.
            var environment = ReceiptRecorder.Environment.standard(storage: storage, threadPool: .singleton)
            let write = environment.write
            environment.write = { bytes, path in
                let status = try JobReceipt.decodeJSON(bytes, source: path).status
                try write(bytes, path)
                order.withLock { $0.append("write \(status)") }
            }
            let server = try ImagingServer(
                configuration: .init(maxConcurrentTasks: 8, seed: 3), storage: storage,
                nodes: try StaticNodeDirectory([ScriptedConnection.accepting("n1")]), receiptEnvironment: environment,
                logger: silentLogger)
            let onDisk = Mutex<JobReceipt?>(nil)
            let receipt = try await server.submit(JobRequest(inputDirectory: "in", pipeline: "identity")) { event in
                guard case .finished = event else { return }
                order.withLock { $0.append("finished") }
                onDisk.withLock { $0 = try? ReceiptAndRerunTests.readReceipt("\(root)/in-out/receipt.json") }
            }
            let log = order.withLock { $0 }
            #expect(log.first == "write running")
            #expect(log.suffix(2) == ["write succeeded", "finished"])
            #expect(onDisk.withLock { $0 } == receipt)
            #expect(receipt.tasks.count == 50)
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - self.count)) + self
    }
}
