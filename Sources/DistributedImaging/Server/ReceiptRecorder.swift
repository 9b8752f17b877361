import Foundation
import Logging
import Synchronization

/// Keeps a job's `receipt.json` in its output directory up to date while the job runs.
///
/// The file holds a ``JobReceipt`` in the same JSON form as `dip-client submit --json`. While the
/// job runs its status is ``JobStatus/running`` and it lists the tasks that ended so far (and the
/// skipped entries); it is rewritten atomically through ``SharedStorage/write(_:to:)`` at most
/// every ``interval`` and once more at the end with the final receipt. A job that crashes leaves
/// the last record, from which a re-run resumes (see ``JobRequest/force``).
final class ReceiptRecorder: Sendable {
    /// The receipt's name in the output directory.
    static let fileName = "receipt.json"
    /// The least time between two rewrites while the job runs.
    static let defaultInterval: Duration = .milliseconds(500)

    private struct State {
        var tasks: [JobReceipt.Task]
        var lastWrite: ContinuousClock.Instant?
    }

    private let storage: SharedStorage
    private let path: String
    private let template: JobReceipt
    private let start: ContinuousClock.Instant
    private let interval: Duration
    private let logger: Logger
    private let state: Mutex<State>

    init(
        storage: SharedStorage, jobID: JobID, input: String, output: String, pipeline: String,
        skipped: [JobReceipt.Task], start: ContinuousClock.Instant, interval: Duration = ReceiptRecorder.defaultInterval,
        logger: Logger
    ) {
        self.storage = storage
        self.path = OutputNaming.join(output, Self.fileName)
        self.template = JobReceipt(
            jobID: jobID, status: .running, input: input, output: output, pipeline: pipeline, tasks: [], elapsed: 0,
            message: "running")
        self.start = start
        self.interval = interval
        self.logger = logger
        self.state = Mutex(State(tasks: skipped, lastWrite: nil))
    }

    /// Records `event`; rewrites the file when the interval has passed, and always for
    /// ``JobEvent/started(jobID:tasks:skipped:)`` and ``JobEvent/finished(_:)``.
    func record(_ event: JobEvent) {
        let now = ContinuousClock.now
        self.state.withLock { state in
            switch event {
            case .started:
                _ = self.write(self.snapshot(state.tasks, now: now, message: "running"))
                state.lastWrite = now
            case .completed(let task):
                state.tasks.append(task)
                if let last = state.lastWrite, now - last < self.interval { return }
                let done = state.tasks.count
                _ = self.write(self.snapshot(state.tasks, now: now, message: "running: \(done) entries recorded"))
                state.lastWrite = now
            case .finished(let receipt):
                _ = self.write(receipt)
                state.lastWrite = now
            case .placed, .rejected:
                return
            }
        }
    }

    /// Wraps `onEvent` so that every event is recorded first.
    func observing(
        _ onEvent: @escaping @Sendable (JobEvent) async -> Void
    ) -> @Sendable (JobEvent) async -> Void {
        { event in
            self.record(event)
            await onEvent(event)
        }
    }

    private func snapshot(_ tasks: [JobReceipt.Task], now: ContinuousClock.Instant, message: String) -> JobReceipt {
        var receipt = self.template
        receipt.tasks = tasks.sorted { $0.input < $1.input }
        receipt.counts = JobReceipt.Counts(receipt.tasks)
        receipt.elapsed = (now - self.start).seconds
        receipt.message = message
        return receipt
    }

    /// Writes the final receipt; when that fails, returns it with the failure added to its
    /// message (the client's only way to learn that the output directory holds no receipt).
    func finish(_ receipt: JobReceipt) -> JobReceipt {
        self.state.withLock { state in
            state.lastWrite = .now
            guard let failure = self.write(receipt) else { return receipt }
            var reported = receipt
            reported.message += "; warning: \(failure)"
            return reported
        }
    }

    /// Writes `receipt`; returns why it could not, or `nil`.
    private func write(_ receipt: JobReceipt) -> String? {
        do {
            try self.storage.write(try JobReceipt.encodeJSON(receipt), to: self.path)
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
    public static func encodeJSON(_ receipt: JobReceipt) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(receipt)) + [UInt8(ascii: "\n")]
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
