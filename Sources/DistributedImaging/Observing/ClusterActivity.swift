import Synchronization

/// What a server has seen of its nodes and jobs since it started: the data of `dip-client status`.
///
/// A ``JobObserver``: wrap the server's submitter in an ``ObservedJobSubmitter`` with it.
public final class ClusterActivity: JobObserver {
    /// One node's share of this server's placements.
    public struct NodeActivity: Sendable, Hashable, Codable {
        /// Tasks placed on the node and not answered yet.
        public var inFlight: Int = 0
        /// Tasks the node answered succeeded or failed.
        public var done: Int = 0
        /// Of those, failed.
        public var failed: Int = 0
        /// Placements the node rejected or that could not reach it.
        public var rejected: Int = 0

        /// No activity.
        public init(inFlight: Int = 0, done: Int = 0, failed: Int = 0, rejected: Int = 0) {
            self.inFlight = inFlight
            self.done = done
            self.failed = failed
            self.rejected = rejected
        }
    }

    /// A job being run.
    public struct Job: Sendable, Hashable, Codable {
        /// The job's id (empty until the server listed the input).
        public var jobID: JobID
        /// The input directory as submitted.
        public var input: String
        /// Tasks ended so far.
        public var done: Int
        /// Of those, failed.
        public var failed: Int
        /// Tasks in the job.
        public var total: Int
        /// Seconds since the job was submitted.
        public var elapsed: Double

        /// Creates a job summary.
        public init(jobID: JobID, input: String, done: Int = 0, failed: Int = 0, total: Int = 0, elapsed: Double = 0) {
            self.jobID = jobID
            self.input = input
            self.done = done
            self.failed = failed
            self.total = total
            self.elapsed = elapsed
        }
    }

    private struct RunningJob {
        var job: Job
        var start: ContinuousClock.Instant
        /// Input → the node it is placed on now.
        var placed: [String: NodeID] = [:]
    }

    private struct State {
        var nodes: [NodeID: NodeActivity] = [:]
        var jobs: [Int: RunningJob] = [:]
        var nextJob = 0
    }

    private let state = Mutex(State())

    /// No activity yet.
    public init() {}

    /// Every node that was placed a task, by name.
    public var nodes: [NodeID: NodeActivity] {
        self.state.withLock { $0.nodes }
    }

    /// The jobs running now, oldest first.
    public var jobs: [Job] {
        let now = ContinuousClock.now
        return self.state.withLock { state in
            state.jobs.sorted { $0.key < $1.key }.map { _, running in
                var job = running.job
                job.elapsed = (now - running.start).seconds
                return job
            }
        }
    }

    /// Starts following one job.
    public func observe(_ request: JobRequest) -> @Sendable (JobEvent) -> Void {
        let submitted = ContinuousClock.now
        let key = self.state.withLock { state in
            let key = state.nextJob
            state.nextJob += 1
            return key
        }
        return { event in self.record(event, job: key, input: request.inputDirectory, submitted: submitted) }
    }

    // A job is listed from its `started` event (a job refused as a whole never starts) to its
    // `finished` event.
    private func record(_ event: JobEvent, job key: Int, input: String, submitted: ContinuousClock.Instant) {
        self.state.withLock { state in
            if case .started(let jobID, let tasks, _) = event {
                state.jobs[key] = RunningJob(job: Job(jobID: jobID, input: input, total: tasks), start: submitted)
                return
            }
            guard var running = state.jobs[key] else { return }
            switch event {
            case .started:
                return
            case .placed(_, let input, let node, _):
                running.placed[input] = node
                state.nodes[node, default: NodeActivity()].inFlight += 1
            case .rejected(_, let input, let node, _, _):
                running.placed[input] = nil
                state.nodes[node, default: NodeActivity()].inFlight -= 1
                state.nodes[node, default: NodeActivity()].rejected += 1
            case .completed(let task):
                running.job.done += 1
                if task.status == .failed { running.job.failed += 1 }
                if let node = running.placed.removeValue(forKey: task.input) {
                    state.nodes[node, default: NodeActivity()].inFlight -= 1
                    state.nodes[node, default: NodeActivity()].done += 1
                    if task.status == .failed { state.nodes[node, default: NodeActivity()].failed += 1 }
                }
            case .finished:
                for node in running.placed.values { state.nodes[node, default: NodeActivity()].inFlight -= 1 }
                state.jobs[key] = nil
                return
            case .snapshot:
                return
            }
            state.jobs[key] = running
        }
    }
}
