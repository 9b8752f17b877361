public import Foundation
import Synchronization

/// A ``JobStore`` in memory: jobs can be listed and watched while the process lives, and are
/// gone when it ends. The embedded cluster's default.
public final class InMemoryJobStore: JobStore {
    private struct Entry {
        var job: StoredJob
        var order: Int
    }

    private struct State {
        var jobs: [JobID: Entry] = [:]
        var created = 0
    }

    private let state = Mutex(State())

    /// Creates an empty store.
    public init() {}

    public func create(_ job: JobRecord, tasks: [PlannedTask], skipped: [JobReceipt.Task]) async throws {
        self.state.withLock { state in
            state.created += 1
            state.jobs[job.id] = Entry(job: StoredJob(record: job, tasks: tasks, skipped: skipped), order: state.created)
        }
    }

    public func apply(_ changes: [JobStoreChange]) async throws {
        self.state.withLock { state in
            for change in changes {
                switch change {
                case .placed(let id, let index, let node, let attempt):
                    guard state.jobs[id]?.job.outcomes[index] == nil else { continue }
                    state.jobs[id]?.job.inFlight[index] = StoredJob.Attempt(node: node, attempt: attempt)
                case .completed(let id, let index, let task):
                    guard state.jobs[id] != nil else { continue }
                    state.jobs[id]?.job.inFlight[index] = nil
                    state.jobs[id]?.job.outcomes[index] = task
                }
            }
        }
    }

    public func finish(
        _ id: JobID, state: JobRecord.State, message: String, finished: Date, elapsed: Double, makespan: Double?
    ) async throws {
        self.state.withLock { store in
            store.jobs[id]?.job.record.makespan = makespan
            store.jobs[id]?.job.record.state = state
            store.jobs[id]?.job.record.message = message
            store.jobs[id]?.job.record.ended = finished
            store.jobs[id]?.job.record.elapsed = elapsed
        }
    }

    public func jobs() async throws -> [JobRecord] {
        self.state.withLock { state in
            state.jobs.values.sorted { $0.order > $1.order }.map { $0.job.record.counted(by: $0.job) }
        }
    }

    public func load(_ id: JobID) async throws -> StoredJob? {
        guard var job = self.state.withLock({ $0.jobs[id]?.job }) else { return nil }
        job.record = job.record.counted(by: job)
        return job
    }

    @discardableResult
    public func prune(endedBefore date: Date) async throws -> Int {
        self.state.withLock { state in
            let old = state.jobs.filter { $0.value.job.record.ended.map { $0 < date } ?? false }.map(\.key)
            for id in old { state.jobs[id] = nil }
            return old.count
        }
    }
}
