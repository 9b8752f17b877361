import Foundation
import Logging
import Synchronization

/// What one run of a job does: its tasks, what was recorded before a restart, and where it goes.
struct JobPlan: Sendable {
    var id: JobID
    var request: JobRequest
    var paths: JobPaths
    /// Every task of the job, those recorded as ended included.
    var tasks: [TaskRequest]
    /// Entries not run (not images, directories, complete already, unlistable).
    var skipped: [JobReceipt.Task]
    /// Images in the input (run or skipped).
    var images: Int
    /// Entries that could not be listed (failed, in `skipped`).
    var unlisted: Int
    /// Set when the input cannot be listed: the job fails with this message.
    var unlistable: String?
    var submitted: Date
    /// Tasks that ended before a restart, by index: kept as they are.
    var recorded: [Int: JobReceipt.Task] = [:]
    /// Tasks in flight when the server stopped, by index: placed again.
    var interrupted: [Int: StoredJob.Attempt] = [:]
    /// Whether this run resumes a stored job (it then waits for nodes rather than failing).
    var resumed = false

    init(id: JobID, request: JobRequest, paths: JobPaths, preparation: ImagingServer.Preparation, submitted: Date) {
        self.id = id
        self.request = request
        self.paths = paths
        self.submitted = submitted
        switch preparation {
        case .unlistable(let message):
            (self.tasks, self.skipped, self.images, self.unlisted, self.unlistable) = ([], [], 0, 0, message)
        case .ready(let prepared):
            (self.tasks, self.skipped, self.images, self.unlisted) =
                (prepared.tasks, prepared.skipped, prepared.images, prepared.unlisted)
        }
    }

    init(resuming stored: StoredJob) {
        let record = stored.record
        self.id = record.id
        self.request = record.request
        self.paths = JobPaths(input: record.input, output: record.output, pipeline: record.pipeline)
        self.submitted = record.submitted
        self.tasks = stored.tasks.map { task in
            TaskRequest(
                jobID: record.id, taskIndex: task.index, inputPath: task.input, outputPath: task.output,
                pipeline: record.pipeline, outputFormat: record.request.outputFormat)
        }
        self.skipped = stored.skipped
        self.images = stored.tasks.count
        self.unlisted = stored.skipped.count { $0.status == .failed }
        self.recorded = stored.outcomes
        self.interrupted = stored.inFlight
        self.resumed = true
    }
}

/// Where a job's events go: observers, `receipt.json`, the store and the job's watchers.
struct JobSink: Sendable {
    let job: RunningJob
    let writer: JobStoreWriter
    let observe: @Sendable (JobEvent) -> Void
    let recorder: ReceiptRecorder?

    /// Sends `event` everywhere; a completed task's `taskIndex` is its key in the store.
    func emit(_ event: JobEvent, taskIndex: Int? = nil) {
        self.observe(event)
        self.recorder?.record(event)
        switch event {
        case .placed(let index, _, let node, let attempt):
            self.writer.enqueue(.placed(self.job.id, taskIndex: index, node: node, attempt: attempt))
        case .completed(let task):
            if let taskIndex { self.writer.enqueue(.completed(self.job.id, taskIndex: taskIndex, task)) }
        default:
            break
        }
        self.job.publish(event)
    }
}

extension ImagingServer {
    /// How often a resumed job that finds no node looks again.
    static let nodePollInterval: Duration = .milliseconds(250)

    /// Runs one job to its end (or to a shutdown that leaves it in the store).
    func execute(_ job: RunningJob, plan: JobPlan) async {
        let start = ContinuousClock.now
        var logger = self.logger
        logger[metadataKey: "dip.job.id"] = "\(plan.id)"
        let observe = self.observers.observe(plan.request)
        let paths = plan.paths
        guard plan.unlistable == nil else {
            let sink = JobSink(job: job, writer: self.writer, observe: observe, recorder: nil)
            await self.finish(job, plan: plan, status: .failed, tasks: [], message: plan.unlistable ?? "", sink: sink, logger: logger)
            return
        }
        let recorder = ReceiptRecorder(
            jobID: plan.id, input: paths.input, output: paths.output, pipeline: paths.pipeline,
            skipped: plan.skipped + plan.recorded.values, start: start, environment: self.receiptEnvironment, logger: logger)
        let sink = JobSink(job: job, writer: self.writer, observe: observe, recorder: recorder)
        logger.info(
            plan.resumed ? "job resumed" : "job started",
            metadata: [
                "input": "\(paths.input)", "tasks": "\(plan.tasks.count)", "skipped": "\(plan.skipped.count)",
                "recorded": "\(plan.recorded.count)",
            ])
        // The running receipt is on disk before anyone hears that the job started.
        await recorder.writeNow()
        sink.emit(.started(jobID: plan.id, tasks: plan.tasks.count, skipped: plan.skipped.count))

        let unlistedNote = plan.unlisted == 0 ? "" : "; \(plan.unlisted) entries could not be listed"
        let total = plan.tasks.count
        if total == 0 {
            let message: String
            let status: JobStatus
            if plan.unlisted > 0 {
                (status, message) = (.failed, "\(plan.unlisted) entries under '\(paths.input)' could not be listed; 0 tasks run")
            } else if plan.images > 0 {
                (status, message) = (.succeeded, "nothing to run: all \(plan.images) images skipped (already complete or not selected)")
            } else {
                let note = plan.skipped.isEmpty ? "" : " (\(plan.skipped.count) other entries skipped)"
                (status, message) = (.succeeded, "input directory '\(paths.input)' has no images: 0 tasks\(note)")
            }
            await self.finish(job, plan: plan, status: status, tasks: [], message: message, sink: sink, logger: logger)
            return
        }

        let pending = plan.tasks.filter { plan.recorded[$0.taskIndex] == nil }
        let dispatched = ContinuousClock.now
        let results = await self.dispatch(pending, plan: plan, sink: sink, logger: logger)
        let makespan = (ContinuousClock.now - dispatched).seconds
        self.sweepTemporaryFiles(in: paths.output, logger: logger)
        var counts = JobReceipt.Counts(plan.recorded.values)
        counts.add(results.lazy.map(\.task))
        let status: JobStatus
        let message: String
        let elapsed = Self.format(Date().timeIntervalSince(plan.submitted))
        let extras = "\(counts.rejections) rejections, \(counts.delayed) delayed"
        if counts.cancelled > 0 {
            status = .cancelled
            message = "job cancelled: \(counts.succeeded) of \(total) tasks succeeded, \(counts.cancelled) not run"
        } else if counts.failed > 0 || plan.unlisted > 0 {
            status = .failed
            message = "\(counts.failed) of \(total) tasks failed (\(extras)) in \(elapsed) s\(unlistedNote)"
        } else {
            status = .succeeded
            message = "\(total) of \(total) tasks succeeded (\(extras)) in \(elapsed) s"
        }
        await self.finish(
            job, plan: plan, status: status, tasks: consume results, message: message, makespan: makespan, sink: sink,
            logger: logger)
    }

    /// Ends a job: writes `receipt.json` and the store's record, then sends the finished event.
    /// A job stopped by shutdown with a durable store is left running in the store instead.
    ///
    /// - Parameter tasks: The tasks this run dispatched, by index (recorded ones are in `plan`);
    ///   taken, so that their memory is freed once they are in the receipt, before it is encoded
    ///   (for 100,000 tasks, tens of megabytes).
    private func finish(
        _ job: RunningJob, plan: JobPlan, status: JobStatus, tasks: consuming [(index: Int, task: JobReceipt.Task)],
        message: String, makespan: Double? = nil, sink: JobSink, logger: Logger
    ) async {
        var status = status
        var message = message
        let unrecorded = Set(tasks.indices.filter { tasks[$0].task.status == .cancelled })
        if job.stop == .shutdown {
            if self.durable {
                await self.writer.flush()
                logger.info("job left running in the store: the server shut down", metadata: ["status": "running"])
                job.abandon(
                    DistributedImagingError.unavailable(
                        "the server shut down before job \(plan.id) ended; it stays in the server's state directory and "
                            + "resumes when the server starts again"))
                return
            }
            let grace = self.configuration.shutdownGracePeriod.secondsText
            let reason = "the server shut down: the task had not ended when the \(grace) s grace period passed"
            for position in tasks.indices where tasks[position].task.status == .cancelled {
                tasks[position].task.status = .failed
                tasks[position].task.error = reason
            }
            status = .failed
            var counts = JobReceipt.Counts(plan.recorded.values)
            counts.add(tasks.lazy.map(\.task))
            message =
                "the server shut down: \(counts.succeeded) of \(plan.tasks.count) tasks succeeded, "
                + "\(counts.failed) failed (grace period \(grace) s)"
        }
        // Tasks cancelled (or failed by the shutdown) sent no completed event: record them now.
        for (position, entry) in tasks.enumerated() where unrecorded.contains(position) {
            self.writer.enqueue(.completed(plan.id, taskIndex: entry.index, entry.task))
        }
        let elapsed = Date().timeIntervalSince(plan.submitted)
        let latency = JobReceipt.LatencyPercentiles(Array(tasks.lazy.filter { $0.task.attempts > 0 }.map(\.task.elapsed)))
        // One array of the right size, and the results freed once they are in it: a job's tasks
        // are copied once here, not through intermediate arrays.
        var entries: [JobReceipt.Task] = []
        entries.reserveCapacity(plan.skipped.count + plan.recorded.count + tasks.count)
        entries.append(contentsOf: plan.skipped)
        entries.append(contentsOf: plan.recorded.values)
        entries.append(contentsOf: tasks.lazy.map(\.task))
        tasks = []
        var receipt = JobReceipt(
            jobID: plan.id, status: status, input: plan.paths.input, output: plan.paths.output,
            pipeline: plan.paths.pipeline, tasks: consume entries, elapsed: elapsed, message: message)
        receipt.makespan = makespan
        receipt.taskLatency = latency
        if let recorder = sink.recorder {
            // Sorted and written off the cooperative pool, before the finished event is sent;
            // the write failing is part of the answer the client gets.
            receipt = await recorder.finish(consume receipt)
        } else {
            receipt.tasks.sort { $0.input < $1.input }
        }
        await self.writer.flush()
        if let failure = self.writer.failure {
            receipt.message += "; the server's job store could not record every task: \(failure)"
        }
        do {
            try await self.store.finish(
                plan.id, state: receipt.status, message: receipt.message, finished: Date(), elapsed: elapsed, makespan: receipt.makespan)
        } catch {
            logger.info("job store could not record the job's end", metadata: ["error": "\(error)"])
        }
        logger.info("job finished", metadata: ["status": "\(receipt.status)", "message": "\(receipt.message)"])
        sink.observe(.finished(receipt))
        job.end(with: receipt, state: receipt.status)
    }

    /// Places `tasks`, each as soon as the server's shared bound gives the job a turn.
    ///
    /// - Returns: One entry per task, by index; tasks not started when the job was stopped are
    ///   `cancelled`.
    private func dispatch(
        _ tasks: [TaskRequest], plan: JobPlan, sink: JobSink, logger: Logger
    ) async -> [(index: Int, task: JobReceipt.Task)] {
        let collected = Collected()
        let deadline = Stopwatch(self.clock)
        let ordered = self.configuration.dispatchOrder == .largestFirst ? self.largestFirst(tasks) : tasks
        // Discarding: a finished child task is freed at once (a plain task group keeps every one
        // until it is awaited, some kilobytes per task).
        await withDiscardingTaskGroup { group in
            for task in ordered {
                guard await self.share.acquire(for: plan.id) else { break }
                group.addTask {
                    defer { self.share.release(for: plan.id) }
                    let result = await self.run(task, plan: plan, deadline: deadline, sink: sink, logger: logger)
                    collected.results.withLock { $0.append((task.taskIndex, result)) }
                }
            }
        }
        var results = collected.results.withLock { $0 }
        if results.count < tasks.count {
            let done = Set(results.map(\.index))
            for task in tasks where !done.contains(task.taskIndex) {
                results.append(
                    (task.taskIndex,
                     JobReceipt.Task(
                        input: task.inputPath, output: task.outputPath, status: .cancelled,
                        error: "job cancelled before the task ended")))
            }
        }
        return results
    }

    /// Places one task until a node answers it, the job is cancelled or its deadline passes, or
    /// the optional attempt cap is reached.
    private func run(
        _ base: TaskRequest, plan: JobPlan, deadline: Stopwatch, sink: JobSink, logger: Logger
    ) async -> JobReceipt.Task {
        let occupancy = self.occupancy
        var generator = Self.placementGenerator(seed: self.seed, jobID: base.jobID, taskIndex: base.taskIndex)
        var tried: [NodeID] = []
        var rejections = 0
        var lost: [String] = []
        let previous = plan.interrupted[base.taskIndex]
        if let previous {
            lost.append(
                "attempt \(previous.attempt) on node '\(previous.node)': in flight when the server stopped; "
                    + "placed again after the restart")
        }
        let firstAttempt = (previous?.attempt ?? 0) + 1
        var lastReason = ""
        var lastNode: NodeID?
        var rejectedBy: NodeID?
        let start = ContinuousClock.now
        // Taken before any node reads the input: an edit after this shows on the next re-run.
        let input = (try? self.storage.status(base.inputPath)) ?? nil
        func entry(_ status: JobReceipt.Outcome, receipt: TaskReceipt? = nil, error: String? = nil) -> JobReceipt.Task {
            var task = JobReceipt.Task(
                input: base.inputPath, output: base.outputPath, status: status, node: lastNode, attempts: tried.count,
                rejections: rejections, delayed: receipt?.delayed ?? false, elapsed: (ContinuousClock.now - start).seconds,
                error: error, lostAttempts: lost)
            if let receipt {
                task.queueSeconds = receipt.queueSeconds
                task.delaySeconds = receipt.delaySeconds
                task.processingSeconds = receipt.processingSeconds
            }
            if status == .succeeded, let input, let output = (try? self.storage.status(base.outputPath)) ?? nil {
                task.inputSize = input.size
                task.inputModifiedNanoseconds = input.modifiedNanoseconds
                task.outputSize = output.size
            }
            return task
        }
        func cancelled() -> JobReceipt.Task { entry(.cancelled, error: "job cancelled before the task ended") }

        let cap = self.configuration.maxAttempts
        var attempt = firstAttempt
        // The nodes that declined the task since its last back-off: once it holds every node,
        // a complete round was declined and the task backs off once.
        var declinedThisRound: Set<NodeID> = []
        var backOff = Self.firstBackOff
        while true {
            if let cap, attempt >= firstAttempt + cap {
                let breakdown = lost.isEmpty ? "" : " (\(rejections) rejected, \(lost.count) lost)"
                let result = entry(
                    .failed, error: "no node took the task in \(cap) attempts (server.maxAttempts)\(breakdown); last: \(lastReason)")
                sink.emit(.completed(result), taskIndex: base.taskIndex)
                return result
            }
            if Task.isCancelled { return cancelled() }
            if let timeout = self.configuration.jobTimeout, deadline.elapsed() >= timeout {
                let last = lastReason.isEmpty ? "" : "; last: \(lastReason)"
                let result = entry(
                    .failed,
                    error: "the job's deadline of \(timeout.secondsText) s (server.jobTimeout) passed after "
                        + "\(attempt - firstAttempt) attempts\(last)")
                sink.emit(.completed(result), taskIndex: base.taskIndex)
                return result
            }
            if let hopeless = Self.noNodeCanAccept(self.directory.connections()) {
                let result = entry(.failed, error: hopeless)
                sink.emit(.completed(result), taskIndex: base.taskIndex)
                return result
            }
            var request = base
            request.attempt = attempt
            request.runTimeout = self.configuration.taskTimeout
            let connection: any NodeConnection
            switch await self.place(
                request, tried: tried, rejectedBy: rejectedBy, waitForNodes: plan.resumed, using: &generator)
            {
            case .node(let chosen):
                connection = chosen
            case .cancelled:
                return cancelled()
            case .noNodes:
                // Every node left while the job ran.
                let last = lastReason.isEmpty ? "" : "; last: \(lastReason)"
                let result = entry(.failed, error: "no nodes to place the task on (attempt \(attempt))\(last)")
                sink.emit(.completed(result), taskIndex: base.taskIndex)
                return result
            case .outOfRange(let index, let count):
                // A programming error in the placement: never guess a node for it.
                let result = entry(
                    .failed,
                    error: "internal error: placement \(type(of: self.placement)) chose index \(index) among "
                        + "\(count) nodes (valid: 0..<\(count))")
                logger.debug(
                    "placement out of range",
                    metadata: ["dip.task.id": "\(base.taskIndex)", "index": "\(index)", "nodes": "\(count)"])
                sink.emit(.completed(result), taskIndex: base.taskIndex)
                return result
            }
            tried.append(connection.node)
            lastNode = connection.node
            sink.emit(.placed(taskIndex: base.taskIndex, input: base.inputPath, node: connection.node, attempt: attempt))
            var reason = ""
            do {
                let receipt = try await connection.run(request)
                occupancy.release(connection.node)
                self.health.markAlive(connection.node)
                switch receipt.status {
                case .succeeded:
                    let result = entry(.succeeded, receipt: receipt)
                    sink.emit(.completed(result), taskIndex: base.taskIndex)
                    return result
                case .failed:
                    if Task.isCancelled { return cancelled() }
                    let result = entry(.failed, receipt: receipt, error: receipt.error ?? "failed on node '\(connection.node)'")
                    sink.emit(.completed(result), taskIndex: base.taskIndex)
                    return result
                case .rejected:
                    rejections += 1
                    rejectedBy = connection.node
                    reason = receipt.error ?? "rejected"
                }
            } catch {
                occupancy.release(connection.node)
                if Task.isCancelled { return cancelled() }
                rejectedBy = nil
                self.health.markUnreachable(connection.node)
                let timedOut = (error as? DistributedImagingError)?.code == .timedOut
                let text = DistributedImagingError.message(of: error)
                reason = timedOut ? "past the task deadline: \(text)" : "unreachable: \(text)"
                lost.append("attempt \(attempt) on node '\(connection.node)': \(reason)")
            }
            lastReason = "node '\(connection.node)': \(reason)"
            logger.debug(
                "attempt declined",
                metadata: ["dip.task.id": "\(base.taskIndex)", "dip.node.id": "\(connection.node)", "reason": "\(lastReason)"])
            sink.emit(
                .rejected(taskIndex: base.taskIndex, input: base.inputPath, node: connection.node, attempt: attempt, reason: reason))
            attempt += 1
            declinedThisRound.insert(connection.node)
            if self.roundDeclined(declinedThisRound) {
                // Every node that could take the task declined it since the last back-off: wait
                // once, then a new round.
                declinedThisRound.removeAll(keepingCapacity: true)
                var pause = backOff
                if let timeout = self.configuration.jobTimeout { pause = min(pause, max(.zero, timeout - deadline.elapsed())) }
                backOff = min(backOff * 2, Self.maxBackOff)
                if pause > .zero {
                    do { try await self.clock.sleep(for: pause) } catch { return cancelled() }
                }
            }
        }
    }

    /// `tasks` in decreasing input size (unknown sizes last), ties in their given order.
    func largestFirst(_ tasks: [TaskRequest]) -> [TaskRequest] {
        let sizes = tasks.map { (try? self.storage.status($0.inputPath))?.size ?? -1 }
        return tasks.indices.sorted { sizes[$0] != sizes[$1] ? sizes[$0] > sizes[$1] : $0 < $1 }.map { tasks[$0] }
    }

    /// Whether every node the task could be placed on now — healthy, with room — is in
    /// `declined` (and there is one).
    func roundDeclined(_ declined: Set<NodeID>) -> Bool {
        let nodes = self.directory.connections()
        let ids = nodes.map(\.node)
        let available = self.health.available(among: ids)
        let placeable = self.occupancy.withRoom(available.map { (ids[$0], nodes[$0].slots) }).map { available[$0.index] }
        return !placeable.isEmpty && placeable.allSatisfy { declined.contains(ids[$0]) }
    }

    /// The first back-off after a round in which every node declined a task; it doubles per
    /// round up to ``maxBackOff``.
    static let firstBackOff: Duration = .milliseconds(1)
    /// The longest back-off between rounds.
    static let maxBackOff: Duration = .seconds(1)

    /// Why no node can ever accept a task, or `nil` when one may: every node advertises the
    /// Optional policy at load 1 (a node that advertises nothing may accept).
    static func noNodeCanAccept(_ connections: [any NodeConnection]) -> String? {
        guard !connections.isEmpty else { return nil }
        for connection in connections {
            guard let state = connection.advertisedState, state.rejectsEverything else { return nil }
        }
        return "no node can ever accept the task: all \(connections.count) nodes run the Optional policy at load 1, "
            + "which rejects every task"
    }

    /// The random stream a server seeded with `seed` places task `taskIndex` of job `jobID`
    /// with, every attempt of it. The scheduling experiment (`dip-bench experiment`) draws from
    /// the same streams.
    package static func placementGenerator(seed: UInt64, jobID: JobID, taskIndex: Int) -> SeededRandomNumberGenerator {
        SeededRandomNumberGenerator(
            seed: SeededRandomNumberGenerator.derive(
                seed: SeededRandomNumberGenerator.derive(seed: seed, ["placement", jobID.rawValue]), UInt64(taskIndex)))
    }

    private enum PlacementOutcome {
        case node(any NodeConnection)
        case cancelled
        case noNodes
        case outOfRange(index: Int, count: Int)
    }

    /// Chooses the node for `request` among the nodes that are not suspect and have room for
    /// one more task, and takes that room; waits while every node is full.
    ///
    /// It also waits when the only node with room is `rejectedBy`, the one that just rejected the
    /// task, while other healthy nodes are merely full: placing it there again at once would
    /// spend the task's attempts in a burst against one rejecting node while the others are busy.
    private func place(
        _ request: TaskRequest, tried: [NodeID], rejectedBy: NodeID?, waitForNodes: Bool,
        using generator: inout SeededRandomNumberGenerator
    ) async -> PlacementOutcome {
        let occupancy = self.occupancy
        while !Task.isCancelled {
            let generation = occupancy.generation
            let nodes = self.directory.connections()
            let nodeIDs = nodes.map(\.node)
            guard !nodes.isEmpty else {
                // A resumed job waits for nodes to register instead of failing for lack of them.
                guard waitForNodes else { return .noNodes }
                try? await Task.sleep(for: Self.nodePollInterval)
                continue
            }
            let available = self.health.available(among: nodeIDs)
            let open = occupancy.withRoom(available.map { (nodeIDs[$0], nodes[$0].slots) })
                .map { (position: available[$0.index], held: $0.held) }
            let onlyTheRejecter = open.count == 1 && nodeIDs[open[0].position] == rejectedBy && available.count > 1
            guard !open.isEmpty, !onlyTheRejecter else {
                await occupancy.waitForRoom(after: generation)
                continue
            }
            let candidates = open.map { node in
                PlacementCandidate(
                    node: nodeIDs[node.position], state: nodes[node.position].advertisedState?.holding(atLeast: node.held))
            }
            let index = self.placement.choose(for: request, among: candidates, tried: tried, using: &generator)
            guard open.indices.contains(index) else { return .outOfRange(index: index, count: open.count) }
            let connection = nodes[open[index].position]
            if occupancy.take(connection.node, slots: connection.slots) { return .node(connection) }
        }
        return .cancelled
    }
}

/// Time elapsed on a clock since it was made (any `Clock<Duration>`, opened once here).
struct Stopwatch: Sendable {
    let elapsed: @Sendable () -> Duration

    init(_ clock: any Clock<Duration>) {
        self.elapsed = Self.start(clock)
    }

    private static func start<C: Clock<Duration>>(_ clock: C) -> @Sendable () -> Duration {
        let origin = clock.now
        return { origin.duration(to: clock.now) }
    }
}

/// The results of a job's tasks, appended as they end.
private final class Collected: Sendable {
    let results = Mutex<[(index: Int, task: JobReceipt.Task)]>([])
}
