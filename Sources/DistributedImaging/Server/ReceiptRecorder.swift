import Foundation
import Logging
import NIOPosix
import Synchronization

/// Keeps a job's `receipt.json` in its output directory up to date while the job runs.
///
/// The file holds a ``JobReceipt`` in the same JSON form as `dip-client submit --json`. While the
/// job runs its status is ``JobStatus/running`` and it lists the tasks that ended so far (and the
/// skipped entries); it is written atomically through ``SharedStorage/write(_:to:)`` when the job
/// starts, rewritten while it runs, and written once more by ``finish(_:)`` with the final
/// receipt, before the server sends ``JobEvent/finished(_:)``. A job that crashes leaves the last
/// record, from which a re-run resumes (see ``JobRequest/force``).
///
/// Recording a task costs O(1): it is appended to a list of new entries. The writes run one at a
/// time off Swift's cooperative pool (on a NIO thread pool by default); each takes the new
/// entries, merges them into the entries written before, and encodes and writes the whole
/// receipt. A rewrite starts with a completion, and only when both hold:
///
/// - at least max(``minimumInterval``, ``costFactor`` × *d*) passed since the last rewrite
///   ended, *d* being what it took (merge, encoding and write);
/// - the rewrites so far plus this one — its cost estimated from the last one's, in proportion
///   to the entries — stay within 1/(1 + ``costFactor``) of the time since the job started.
///
/// So rewriting takes under 5 % of the job's wall time however large the receipt grows (as long
/// as a write's cost grows no faster than its entries); the start and final writes come on top.
final class ReceiptRecorder: Sendable {
    /// The receipt's name in the output directory.
    static let fileName = "receipt.json"
    /// The least time between the end of one rewrite and the start of the next while the job runs.
    static let minimumInterval: Duration = .milliseconds(500)
    /// The wait after a rewrite, in multiples of the time it took.
    static let costFactor = 20

    /// Where the writes run, what they write with and the clock that times them. Tests replace
    /// parts of it.
    struct Environment: Sendable {
        /// The clock's reading: rewrites are timed and spaced with it.
        var now: @Sendable () -> ContinuousClock.Instant = { .now }
        /// Runs one write (merge, encoding and write) off the cooperative pool.
        var execute: @Sendable (@escaping @Sendable () -> Void) -> Void
        /// Writes the receipt's bytes to a path relative to the storage root.
        var write: @Sendable (_ bytes: [UInt8], _ path: String) throws -> Void

        /// Writes through `storage`, on `threadPool`.
        static func standard(storage: SharedStorage, threadPool: NIOThreadPool) -> Self {
            Self(
                execute: { work in
                    // A pool that is not running calls the item at once with `.cancelled`: the
                    // write still runs (on the caller's thread), so that `finish` returns.
                    threadPool.submit { _ in work() }
                },
                write: { bytes, path in try storage.write(bytes, to: path) })
        }
    }

    private struct State {
        /// Entries recorded since the last write took them.
        var pending: [JobReceipt.Task]
        /// Entries recorded in all (skipped entries included).
        var recorded: Int
        /// No rewrite starts before this while the job runs (`nil`: none written yet).
        var notBefore: ContinuousClock.Instant?
        /// A write is queued or running, or reserved by a waiter that was handed the turn.
        var writing = false
        /// ``finish(_:)`` was called: no more rewrites are started.
        var finishing = false
        /// Writes that wait for the one in flight, in order.
        var waiters: [CheckedContinuation<Void, Never>] = []
        /// Writes done so far, the final one included.
        var writes = 0
        /// Time spent in rewrites so far (the start's included).
        var spent: Duration = .zero
        /// What the last rewrite took, and the entries it wrote.
        var lastCost: Duration = .zero
        var lastEntries = 0
    }

    private let path: String
    private let template: JobReceipt
    private let start: ContinuousClock.Instant
    private let environment: Environment
    private let logger: Logger
    private let state: Mutex<State>
    /// Every entry taken from `pending` so far, sorted by input. Only the write in flight uses it.
    private let written = Mutex<[JobReceipt.Task]>([])

    init(
        jobID: JobID, input: String, output: String, pipeline: String, skipped: [JobReceipt.Task],
        start: ContinuousClock.Instant, environment: Environment, logger: Logger
    ) {
        self.path = OutputNaming.join(output, Self.fileName)
        self.template = JobReceipt(
            jobID: jobID, status: .running, input: input, output: output, pipeline: pipeline, tasks: [], elapsed: 0,
            message: "running")
        self.start = start
        self.environment = environment
        self.logger = logger
        self.state = Mutex(State(pending: skipped, recorded: skipped.count))
    }

    /// Writes done so far, the final one included.
    var writes: Int { self.state.withLock { $0.writes } }

    /// Writes waiting for the one in flight (tests).
    var waitingWrites: Int { self.state.withLock { $0.waiters.count } }

    /// Records `event`: a ``JobEvent/completed(_:)`` task is added to the next rewrite, which
    /// starts (off the caller's thread) when the interval since the last one has passed and no
    /// write is in flight. Other events are not recorded.
    func record(_ event: JobEvent) {
        guard case .completed(let task) = event else { return }
        let now = self.environment.now()
        let due = self.state.withLock { state -> Bool in
            state.pending.append(task)
            state.recorded += 1
            guard !state.writing, !state.finishing else { return false }
            if let notBefore = state.notBefore, now < notBefore { return false }
            let estimate = state.lastEntries > 0 ? state.lastCost * state.recorded / state.lastEntries : state.lastCost
            // 21 × (spent + estimate) ≤ elapsed + estimate: at most 1/21 of the time once it ends.
            guard (state.spent + estimate) * (1 + Self.costFactor) <= (now - self.start) + estimate else { return false }
            state.writing = true
            return true
        }
        if due { self.environment.execute { self.rewrite() } }
    }

    /// Writes the running receipt as it stands (the skipped entries, at the start) and returns
    /// once it is written.
    func writeNow() async {
        await self.takeTurn()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            self.environment.execute {
                self.rewrite()
                continuation.resume()
            }
        }
    }

    /// Sorts `receipt`'s tasks by input and writes it as the final receipt, after any rewrite in
    /// flight; stops the rewrites. When the write fails, returns the receipt with the failure
    /// added to its message (the client's only way to learn that the output directory holds no
    /// receipt).
    ///
    /// Takes `receipt`, so that its tasks are sorted in place rather than copied first.
    func finish(_ receipt: consuming JobReceipt) async -> JobReceipt {
        self.state.withLock { $0.finishing = true }
        await self.takeTurn()
        let handoff = Handoff(consume receipt)
        return await withCheckedContinuation { (continuation: CheckedContinuation<JobReceipt, Never>) in
            self.environment.execute {
                self.written.withLock { $0 = [] }
                guard var sorted = handoff.take() else { preconditionFailure("the receipt is taken once") }
                sorted.tasks.sort { $0.input < $1.input }
                let failure = self.write(sorted)
                self.endTurn(cost: nil)
                guard let failure else { return continuation.resume(returning: sorted) }
                sorted.message += "; warning: \(failure)"
                continuation.resume(returning: sorted)
            }
        }
    }

    /// Waits until no write is in flight, and reserves the next one.
    private func takeTurn() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = self.state.withLock { state -> Bool in
                guard state.writing else {
                    state.writing = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Ends the write in flight: hands the turn to the first waiter, if any. `cost`, the time a
    /// rewrite of `entries` took, spaces the next rewrite.
    private func endTurn(cost: Duration?, entries: Int = 0) {
        let now = self.environment.now()
        let next = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.writes += 1
            if let cost {
                state.notBefore = now + max(Self.minimumInterval, cost * Self.costFactor)
                state.spent += cost
                state.lastCost = cost
                state.lastEntries = entries
            }
            guard !state.waiters.isEmpty else {
                state.writing = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }

    /// Takes the new entries, merges them into those written before and writes the running
    /// receipt. Runs on the environment's executor, holding the turn.
    private func rewrite() {
        let began = self.environment.now()
        let (taken, recorded, first) = self.state.withLock { state in
            let taken = state.pending
            state.pending = []
            return (taken, state.recorded, state.writes == 0)
        }
        let batch = taken.sorted { $0.input < $1.input }
        let tasks = self.written.withLock { written -> [JobReceipt.Task] in
            written = Self.merge(written, batch)
            return written
        }
        var receipt = self.template
        receipt.tasks = tasks
        receipt.counts = JobReceipt.Counts(tasks)
        receipt.elapsed = (began - self.start).seconds
        receipt.message = first ? "running" : "running: \(recorded) entries recorded"
        _ = self.write(receipt)
        self.endTurn(cost: self.environment.now() - began, entries: recorded)
    }

    /// `a` and `b`, each sorted by input, merged into one sorted list (`a`'s first on equal inputs).
    static func merge(_ a: [JobReceipt.Task], _ b: [JobReceipt.Task]) -> [JobReceipt.Task] {
        if b.isEmpty { return a }
        if a.isEmpty { return b }
        var merged: [JobReceipt.Task] = []
        merged.reserveCapacity(a.count + b.count)
        var i = a.startIndex
        var j = b.startIndex
        while i < a.endIndex && j < b.endIndex {
            if b[j].input < a[i].input {
                merged.append(b[j])
                j += 1
            } else {
                merged.append(a[i])
                i += 1
            }
        }
        merged.append(contentsOf: a[i...])
        merged.append(contentsOf: b[j...])
        return merged
    }

    /// Writes `receipt`; returns why it could not, or `nil`.
    private func write(_ receipt: JobReceipt) -> String? {
        do {
            try self.environment.write(try JobReceipt.encodeJSON(receipt), self.path)
            return nil
        } catch {
            let message = (error as? DistributedImagingError)?.message ?? "\(error)"
            self.logger.info("cannot write the job receipt", metadata: ["path": "\(self.path)", "error": "\(message)"])
            return "the receipt could not be written to '\(self.path)' (re-runs will process every image again): \(message)"
        }
    }
}

extension JobReceipt {
    /// The receipt's JSON form (pretty-printed, sorted keys, one trailing newline): what
    /// `receipt.json` holds and `dip-client submit --json` prints.
    ///
    /// The tasks are encoded a few thousand at a time and spliced in, so the encoder's working
    /// memory stays small however many tasks the receipt holds; the bytes are those of
    /// `JSONEncoder` encoding the whole receipt at once.
    public static func encodeJSON(_ receipt: JobReceipt) throws -> [UInt8] {
        try self.encodeJSON(receipt, tasksPerChunk: 2_000)
    }

    /// ``encodeJSON(_:)`` with `tasksPerChunk` tasks encoded at a time.
    static func encodeJSON(_ receipt: JobReceipt, tasksPerChunk: Int) throws -> [UInt8] {
        let encoder = JSONEncoder.receipts()
        let newline = UInt8(ascii: "\n")
        var head = receipt
        head.tasks = []
        var bytes = Array(try encoder.encode(head))
        // `tasks` sorts last among the keys: the head ends with its empty array.
        let emptyTasks = Array("\"tasks\" : [\n\n  ]\n}".utf8)
        guard receipt.tasks.count > tasksPerChunk, tasksPerChunk > 0, bytes.count >= emptyTasks.count,
            bytes.suffix(emptyTasks.count).elementsEqual(emptyTasks)
        else {
            bytes = Array(try encoder.encode(receipt))
            bytes.append(newline)
            return bytes
        }
        bytes.removeLast(emptyTasks.count)
        bytes += Array("\"tasks\" : [\n".utf8)
        var start = receipt.tasks.startIndex
        while start < receipt.tasks.endIndex {
            let end = min(start + tasksPerChunk, receipt.tasks.endIndex)
            if start > receipt.tasks.startIndex { bytes += [UInt8(ascii: ","), newline] }
            // `[\n  {…},\n  {…}\n]`: drop the brackets' lines and indent every line that is not
            // empty two more spaces, as at the receipt's depth.
            let chunk = try encoder.encode(Array(receipt.tasks[start..<end]))
            if start == receipt.tasks.startIndex {
                // Room for every task at the first chunk's size per task, plus an eighth for the
                // indentation added below: growing the buffer later would hold the old and the
                // new one at once (for 100,000 tasks, about 50 MB and twice that).
                let perTask = chunk.count / (end - start) + chunk.count / (end - start) / 8 + 1
                let (room, overflow) = perTask.multipliedReportingOverflow(by: receipt.tasks.count)
                if !overflow { bytes.reserveCapacity(bytes.count + room + 16) }
            }
            chunk.withUnsafeBytes { raw in
                var lineStart = true
                for byte in raw.dropFirst(2).dropLast(2) {
                    if lineStart && byte != newline {
                        bytes.append(UInt8(ascii: " "))
                        bytes.append(UInt8(ascii: " "))
                    }
                    bytes.append(byte)
                    lineStart = byte == newline
                }
            }
            start = end
        }
        bytes += Array("\n  ]\n}\n".utf8)
        return bytes
    }

    /// Decodes a receipt from its JSON form.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidArgument` naming `source` when the
    ///   bytes are not a receipt.
    public static func decodeJSON(_ bytes: [UInt8], source: String) throws -> JobReceipt {
        do {
            return try JSONDecoder().decode(JobReceipt.self, from: Data(bytes))
        } catch {
            throw DistributedImagingError.invalidArgument("'\(source)' is not a job receipt: \(error)")
        }
    }
}

/// Hands a value to the one closure that takes it, so the value is not shared (and copied on
/// its first mutation) while the caller waits.
private final class Handoff<Value: Sendable>: Sendable {
    private let value: Mutex<Value?>

    init(_ value: consuming Value) {
        self.value = Mutex(value)
    }

    /// The value, the first time; `nil` after.
    func take() -> Value? {
        self.value.withLock { $0.take() }
    }
}
