import Foundation
public import Logging
public import NIOPosix
public import ServiceLifecycle
import Synchronization

/// The server role, for the life of the process: takes jobs, lists each job's directory, makes
/// one task per image, places the tasks on nodes and ends each job with one ``JobReceipt``.
///
/// Jobs are records with an id, kept in a ``JobStore``: a client can submit a job and follow it
/// (``submit(_:onEvent:)``), or start it (``start(_:)``) and come back later to watch
/// (``watch(_:)``), list (``jobs()``) or cancel (``cancel(_:)``) it. With a durable store,
/// ``resumeJobs()`` picks up the jobs a previous process left running.
///
/// Tasks are dispatched concurrently, at most ``ServerConfiguration/maxConcurrentTasks`` at a
/// time for all jobs together (and no more than the nodes can hold: each node's
/// ``ServerConfiguration/nodeRoom``, by default twice its slots),
/// shared between the running jobs (a freed turn goes to the waiting job holding the fewest).
/// Each attempt asks
/// ``Placement`` for a node among those the ``NodeDirectory`` lists now; a rejected task, or one
/// whose node cannot be reached, is placed again — on any node, the same one included — until
/// it is answered — the seed's "the server continues to search" — or the job is cancelled, or
/// the job's ``ServerConfiguration/jobTimeout`` passed, or the optional cap
/// ``ServerConfiguration/maxAttempts`` was reached; it then fails with the last reason. After
/// each complete round in which every node declined the task, the task backs off once on the
/// server's clock (1 ms, doubling per round, at most 1 s) rather than spin. When every node
/// advertises the Optional policy at load 1 (none can ever accept), the task fails at once. A node's `failed` answer (a corrupt image, say) is final. The job
/// succeeds iff every task succeeded.
///
/// The server's own file work — listing the input, reading a previous receipt, writing
/// `receipt.json`, the store's writes — runs on a `NIOThreadPool`, not on Swift's cooperative
/// pool, and its per-task cost does not grow with the job's size.
///
/// Run it as a `Service` (``run()``) to drain on graceful shutdown: new jobs are refused, running
/// ones get ``ServerConfiguration/shutdownGracePeriod`` to end; then those still running stop —
/// with a durable store they stay `running` in it and resume when a server starts on it again;
/// otherwise their remaining tasks fail with the reason and each watcher gets the receipt.
///
/// ```swift
/// let server = try ImagingServer(storage: storage, nodes: transport.connections(), logger: logger)
/// let receipt = try await server.submit(JobRequest(inputDirectory: "photos", pipeline: "invert"))
/// ```
public final class ImagingServer: JobSubmitter, Service {
    /// The server's settings.
    public let configuration: ServerConfiguration
    /// The shared storage.
    public let storage: SharedStorage
    /// Where the nodes come from.
    public let directory: any NodeDirectory
    /// Where jobs are kept.
    public let store: any JobStore

    let placement: any Placement
    /// The clock the server's back-off and job deadlines run on (``ContinuousClock`` unless a
    /// test injects another).
    let clock: any Clock<Duration>
    let health: NodeHealth
    let registry: FilterRegistry
    let seed: UInt64
    let threadPool: NIOThreadPool
    let receiptEnvironment: ReceiptRecorder.Environment
    let observers: JobObservers
    let logger: Logger
    let share: FairShare
    let occupancy: NodeOccupancy
    let writer: JobStoreWriter
    /// Whether the store outlives the process: decides what a shutdown does to running jobs.
    let durable: Bool

    private struct State {
        var jobIDs: SeededRandomNumberGenerator
        /// Ids the store held when the server first needed one, and every id drawn since: a
        /// seeded server started again draws the same sequence, so ids already used are skipped.
        var usedIDs: Set<JobID>?
        var running: [JobID: RunningJob] = [:]
        var draining = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    /// Creates a server.
    ///
    /// - Parameters:
    ///   - configuration: Attempts, dispatch bound, seed, grace period; validated here.
    ///   - storage: The shared storage; request paths are relative to its root.
    ///   - nodes: Where each placement reads the nodes to place on.
    ///   - store: Where jobs are kept (default: in memory, gone with the process).
    ///   - durable: Whether `store` outlives the process (jobs still running at shutdown then
    ///     stay running in it, to resume); default `false`.
    ///   - placement: Which node to try next (default: uniformly at random, as in the seed).
    ///   - registry: The filters a request's pipeline may name (checked before any task runs).
    ///   - health: Which nodes stopped answering; placement skips them for a while.
    ///   - observers: Shown every job's events (cluster status, metrics).
    ///   - threadPool: Where the server lists inputs and writes `receipt.json` (started by its
    ///     owner; default: NIO's shared pool).
    ///   - logger: Where the server logs (`info` per job, `debug` per attempt).
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` for bad settings.
    public convenience init(
        configuration: ServerConfiguration = .defaults,
        storage: SharedStorage,
        nodes: any NodeDirectory,
        store: any JobStore = InMemoryJobStore(),
        durable: Bool = false,
        placement: any Placement = RandomPlacement(),
        registry: FilterRegistry = .standard,
        health: NodeHealth = NodeHealth(),
        observers: JobObservers = JobObservers(),
        threadPool: NIOThreadPool = .singleton,
        clock: any Clock<Duration> = ContinuousClock(),
        logger: Logger
    ) throws {
        try self.init(
            configuration: configuration, storage: storage, nodes: nodes, store: store, durable: durable,
            placement: placement, registry: registry, health: health, observers: observers, threadPool: threadPool,
            receiptEnvironment: .standard(storage: storage, threadPool: threadPool), clock: clock, logger: logger)
    }

    /// Creates a server over a fixed list of nodes.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` for bad settings or
    ///   two nodes with one name.
    public convenience init(
        configuration: ServerConfiguration = .defaults,
        storage: SharedStorage,
        nodes: [any NodeConnection],
        placement: any Placement = RandomPlacement(),
        registry: FilterRegistry = .standard,
        health: NodeHealth = NodeHealth(),
        threadPool: NIOThreadPool = .singleton,
        logger: Logger
    ) throws {
        try self.init(
            configuration: configuration, storage: storage, nodes: try StaticNodeDirectory(nodes), placement: placement,
            registry: registry, health: health, threadPool: threadPool, logger: logger)
    }

    /// Creates a server whose `receipt.json` writes go through `receiptEnvironment` (tests).
    init(
        configuration: ServerConfiguration = .defaults,
        storage: SharedStorage,
        nodes: any NodeDirectory,
        store: any JobStore = InMemoryJobStore(),
        durable: Bool = false,
        placement: any Placement = RandomPlacement(),
        registry: FilterRegistry = .standard,
        health: NodeHealth = NodeHealth(),
        observers: JobObservers = JobObservers(),
        threadPool: NIOThreadPool = .singleton,
        receiptEnvironment: ReceiptRecorder.Environment,
        clock: any Clock<Duration> = ContinuousClock(),
        logger: Logger
    ) throws {
        try configuration.validate()
        self.configuration = configuration
        self.occupancy = NodeOccupancy(room: configuration.nodeRoom)
        self.clock = clock
        self.storage = storage
        self.directory = nodes
        self.store = store
        self.durable = durable
        self.placement = placement
        self.registry = registry
        self.health = health
        self.observers = observers
        self.seed = configuration.seed ?? SystemRandomNumberGenerator().seedValue
        self.state = Mutex(State(jobIDs: SeededRandomNumberGenerator(seed: self.seed, deriving: "job-ids")))
        self.threadPool = threadPool
        self.receiptEnvironment = receiptEnvironment
        self.logger = logger
        let directory = nodes
        let bound = configuration.maxConcurrentTasks
        let room = configuration.nodeRoom
        self.share = FairShare(bound: { min(bound, room.capacity(slots: directory.connections().map(\.slots))) })
        self.writer = JobStoreWriter(store: store, logger: logger)
    }

    /// The nodes tasks are placed on now.
    public var nodeNames: [NodeID] { self.directory.connections().map(\.node) }

    // MARK: - Jobs

    /// Runs `request` to completion, calling `onEvent` for each of its events in order.
    ///
    /// ``JobEvent/started(jobID:tasks:skipped:)`` comes first (it carries the job's id) and
    /// ``JobEvent/finished(_:)`` last. A job whose input directory is missing gets only the
    /// finished event.
    ///
    /// - Returns: The receipt; a job with a failed task, or whose input directory is missing,
    ///   returns status ``JobStatus/failed``. Cancelling the calling task cancels the job (its
    ///   running tasks are cancelled on their nodes) and returns status ``JobStatus/cancelled``.
    /// - Throws: ``DistributedImagingError`` when the request is refused as a whole (see
    ///   ``start(_:)``), or with code `unavailable` when the server shut down while the job ran
    ///   and the job stays in a durable store to resume.
    public func submit(_ request: JobRequest, onEvent: @escaping @Sendable (JobEvent) async -> Void) async throws -> JobReceipt {
        let (job, events) = try await self.begin(request, watching: true)
        // Read off the calling task, so that cancelling it cancels the job but does not end the
        // stream before the receipt (an iterated stream ends when its task is cancelled).
        let reader = Task<JobReceipt, any Error> {
            for try await event in events! {
                await onEvent(event)
                if case .finished(let receipt) = event { return receipt }
            }
            throw DistributedImagingError.unavailable("job \(job.id) ended without a receipt")
        }
        return try await withTaskCancellationHandler {
            try await reader.value
        } onCancel: {
            job.stop(.cancelled)
        }
    }

    /// Starts `request` and returns its id once the job is stored; the job runs on without the
    /// caller. Follow it with ``watch(_:)``.
    ///
    /// - Throws: ``DistributedImagingError`` when the request is refused as a whole: a path
    ///   outside the storage root (`pathOutsideStorageRoot`), output and input directories that
    ///   overlap in either direction after resolving symbolic links, or an input or output file
    ///   that a symbolic link puts inside the other directory (`invalidArgument`), a bad pipeline
    ///   (`invalidPipeline`) or format (`invalidArgument`), more images than
    ///   ``ServerConfiguration/maxImagesPerJob`` (`invalidArgument`), no nodes, a server shutting
    ///   down or a store that cannot record the job (`unavailable`).
    public func start(_ request: JobRequest) async throws -> JobID {
        try await self.begin(request, watching: false).job.id
    }

    /// The events of job `id`: first ``JobEvent/snapshot(_:)`` with its record and counts so far,
    /// then every event as it happens, ending with ``JobEvent/finished(_:)``. A job that already
    /// ended gives its snapshot and its receipt.
    ///
    /// - Throws: ``DistributedImagingError`` with code `notFound` for an id the server does not
    ///   know (never submitted, or pruned); the stream ends with `unavailable` if the server
    ///   shuts down and the job stays in the store to resume.
    public func watch(_ id: JobID) async throws -> AsyncThrowingStream<JobEvent, any Error> {
        if let job = self.state.withLock({ $0.running[id] }) { return job.watch(snapshot: true) }
        guard let stored = try await self.store.load(id) else {
            // It may have started between the two reads.
            if let job = self.state.withLock({ $0.running[id] }) { return job.watch(snapshot: true) }
            throw DistributedImagingError.notFound("no job '\(id)' on this server (never submitted, or pruned)")
        }
        let receipt = Self.receipt(of: stored)
        return AsyncThrowingStream { continuation in
            continuation.yield(.snapshot(stored.record.counted(by: stored)))
            continuation.yield(.finished(receipt))
            continuation.finish()
        }
    }

    /// Every job the server keeps, newest first: running ones with their counts now.
    public func jobs() async throws -> [JobRecord] {
        let stored = try await self.store.jobs()
        let running = self.state.withLock { $0.running }
        return stored.map { record in running[record.id]?.record ?? record }
    }

    /// Cancels job `id`: no task is placed any more, running tasks are cancelled on their nodes,
    /// and the job ends with status ``JobStatus/cancelled``.
    ///
    /// - Returns: The job's record as it stands (its state is still `running` until the
    ///   cancellation took effect; ``watch(_:)`` shows the end).
    /// - Throws: ``DistributedImagingError`` with code `notFound` for an unknown id, or
    ///   `invalidArgument` for a job that already ended.
    @discardableResult
    public func cancel(_ id: JobID) async throws -> JobRecord {
        if let job = self.state.withLock({ $0.running[id] }), job.stop(.cancelled) { return job.record }
        guard let stored = try await self.store.load(id) else {
            throw DistributedImagingError.notFound("no job '\(id)' on this server (never submitted, or pruned)")
        }
        throw DistributedImagingError.invalidArgument("job '\(id)' already ended (\(stored.record.state.rawValue))")
    }

    // MARK: - Service

    /// Resumes the jobs a previous server left running in the store: each keeps the tasks
    /// recorded as ended and places the others again (those that were in flight say so in their
    /// `lostAttempts`). Call it once, before serving; resumed jobs wait for nodes to appear.
    ///
    /// - Returns: The ids of the resumed jobs.
    /// - Throws: when the store cannot be read.
    @discardableResult
    public func resumeJobs() async throws -> [JobID] {
        var resumed: [JobID] = []
        for record in try await self.store.jobs() where record.state == .running {
            guard let stored = try await self.store.load(record.id) else { continue }
            let job = RunningJob(record: stored.record.counted(by: stored))
            self.state.withLock { $0.running[job.id] = job }
            self.launch(job, plan: JobPlan(resuming: stored))
            resumed.append(job.id)
        }
        if !resumed.isEmpty {
            self.logger.info("resumed jobs", metadata: ["jobs": "\(resumed.map(\.rawValue).joined(separator: ","))"])
        }
        return resumed
    }

    /// Prunes ended jobs past ``ServerConfiguration/jobRetention`` now and then (hourly), and on
    /// graceful shutdown drains: refuses new jobs, gives running ones the grace period, then
    /// stops those still running and returns once each has answered.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    await self.prune()
                    try? await Task.sleep(for: .seconds(3600))
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        let busy = self.state.withLock { state -> Bool in
            state.draining = true
            return !state.running.isEmpty
        }
        guard busy else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do { try await Task.sleep(for: self.configuration.shutdownGracePeriod) } catch { return }
                for job in self.state.withLock({ Array($0.running.values) }) { job.stop(.shutdown) }
            }
            await self.waitUntilIdle()
            group.cancelAll()
        }
    }

    /// Deletes the jobs that ended more than ``ServerConfiguration/jobRetention`` ago.
    func prune() async {
        let cutoff = Date().addingTimeInterval(-self.configuration.jobRetention.seconds)
        do {
            let pruned = try await self.store.prune(endedBefore: cutoff)
            if pruned > 0 { self.logger.info("pruned ended jobs", metadata: ["jobs": "\(pruned)"]) }
        } catch {
            self.logger.info("could not prune ended jobs", metadata: ["error": "\(error)"])
        }
    }

    /// Jobs running now (tests).
    var runningJobs: [JobID] { self.state.withLock { Array($0.running.keys) } }

    // MARK: - Internals

    /// Plans, lists and stores a new job, then starts it; with `watching`, the returned stream
    /// is subscribed before the job's first event.
    private func begin(
        _ request: JobRequest, watching: Bool
    ) async throws -> (job: RunningJob, events: AsyncThrowingStream<JobEvent, any Error>?) {
        guard !self.state.withLock({ $0.draining }) else {
            throw DistributedImagingError.unavailable("the server is shutting down and takes no new jobs")
        }
        let jobID = try await self.newJobID()
        let paths = try self.plan(request)
        guard !self.directory.connections().isEmpty else {
            throw DistributedImagingError.unavailable(
                "the server has no nodes to place tasks on: none is configured and none has registered")
        }
        let preparation = try await self.onThreadPool { try self.prepare(request, plan: paths, jobID: jobID) }
        let plan = JobPlan(id: jobID, request: request, paths: paths, preparation: preparation, submitted: Date())
        let record = JobRecord(
            id: jobID, request: request, input: paths.input, output: paths.output, pipeline: paths.pipeline,
            tasks: plan.tasks.count, skipped: plan.skipped.count, submitted: plan.submitted)
        do {
            try await self.store.create(
                record, tasks: plan.tasks.map { PlannedTask(index: $0.taskIndex, input: $0.inputPath, output: $0.outputPath) },
                skipped: plan.skipped)
        } catch {
            throw DistributedImagingError.unavailable(
                "the server's job store could not record the job: \(DistributedImagingError.message(of: error))", cause: error)
        }
        let job = RunningJob(record: record)
        let events = watching ? job.watch(snapshot: false) : nil
        let admitted = self.state.withLock { state -> Bool in
            guard !state.draining else { return false }
            state.running[jobID] = job
            return true
        }
        guard admitted else {
            try? await self.store.finish(
                jobID, state: .failed, message: "refused: the server was shutting down", finished: Date(), elapsed: 0, makespan: nil)
            throw DistributedImagingError.unavailable("the server is shutting down and takes no new jobs")
        }
        self.launch(job, plan: plan)
        return (job, events)
    }

    /// Draws a job id that no job in the store or this process has.
    private func newJobID() async throws -> JobID {
        if self.state.withLock({ $0.usedIDs == nil }) {
            let stored: Set<JobID>
            do {
                stored = Set(try await self.store.jobs().map(\.id))
            } catch {
                throw DistributedImagingError.unavailable(
                    "the server's job store cannot be read: \(DistributedImagingError.message(of: error))", cause: error)
            }
            self.state.withLock { state in state.usedIDs = state.usedIDs.map { $0.union(stored) } ?? stored }
        }
        return self.state.withLock { state in
            while true {
                let id = JobID(String(state.jobIDs.next(), radix: 16) + String(state.jobIDs.next(), radix: 16))
                if state.usedIDs?.insert(id).inserted ?? true { return id }
            }
        }
    }

    /// Runs `job` in a task of its own.
    private func launch(_ job: RunningJob, plan: JobPlan) {
        job.run(
            Task {
                await self.execute(job, plan: plan)
                self.ended(job.id)
            })
    }

    private func ended(_ id: JobID) {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.running[id] = nil
            guard state.running.isEmpty else { return [] }
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func waitUntilIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = self.state.withLock { state -> Bool in
                if state.running.isEmpty { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    /// Runs `body` on the thread pool and returns what it returned, whether or not the calling
    /// task is cancelled meanwhile (a cancelled job still answers with its receipt). A pool that
    /// is not running runs it at once on the calling thread.
    func onThreadPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            self.threadPool.submit { _ in continuation.resume(with: Result { try body() }) }
        }
    }

    /// The receipt of a stored job, from its record and outcomes.
    static func receipt(of stored: StoredJob) -> JobReceipt {
        let record = stored.record
        var tasks = stored.skipped
        for task in stored.tasks {
            tasks.append(
                stored.outcomes[task.index]
                    ?? JobReceipt.Task(
                        input: task.input, output: task.output, status: .cancelled,
                        error: record.state == .running ? "not ended yet" : "job ended before the task ended"))
        }
        var receipt = JobReceipt(
            jobID: record.id, status: record.state, input: record.input, output: record.output, pipeline: record.pipeline,
            tasks: tasks, elapsed: record.elapsed, message: record.message)
        receipt.makespan = record.makespan
        receipt.tasks.sort { $0.input < $1.input }
        return receipt
    }

    static func format(_ seconds: Double) -> String {
        let milliseconds = (seconds * 1000).rounded()
        let whole = Int(milliseconds) / 1000
        let fraction = Int(milliseconds) % 1000
        let padded = String(fraction).count < 3 ? String(repeating: "0", count: 3 - String(fraction).count) + String(fraction) : String(fraction)
        return "\(whole).\(padded)"
    }
}

extension JobRecord {
    /// The record with its counts taken from `stored`'s outcomes.
    func counted(by stored: StoredJob) -> JobRecord {
        var record = self
        record.succeeded = stored.outcomes.values.count { $0.status == .succeeded }
        record.failed = stored.outcomes.values.count { $0.status == .failed || $0.status == .cancelled }
        return record
    }
}
