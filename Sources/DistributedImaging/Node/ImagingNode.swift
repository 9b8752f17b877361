public import Logging
public import NIOPosix
public import ServiceLifecycle
import Synchronization

/// The node role: decides on each task offered (its ``Scheduler`` and load), then decodes,
/// filters and encodes the image on its own threads and writes the output to shared storage.
///
/// Accepted tasks run concurrently up to ``NodeConfiguration/maxConcurrentTasks``. A task holds
/// its slot while it waits out an injected delay and while it is processed. When every slot is
/// taken, further accepted tasks queue (first come, first served) — under both policies:
/// rejections come only from the ``Scheduler``, so the seed's load model holds exactly, and the
/// server never burns its attempts re-placing tasks on full nodes in a tight loop. CPU work runs
/// on a `NIOThreadPool`, never on Swift's cooperative pool.
///
/// ```swift
/// let node = try ImagingNode(
///     configuration: .init(name: "node-1", policy: .optional, load: 0.5),
///     storage: try SharedStorage(root: "/mnt/images"), logger: logger)
/// let receipt = await node.execute(task)
/// ```
///
/// As a `Service`, ``run()`` waits for graceful shutdown, then drains: new tasks are rejected,
/// tasks in flight finish.
public final class ImagingNode: TaskExecutor, Service {
    /// The node's settings.
    public let configuration: NodeConfiguration
    /// The node's name.
    public let node: NodeID

    private let scheduler: any Scheduler
    private let storage: SharedStorage
    private let registry: FilterRegistry
    private let codec: ImageCodec
    private let threadPool: NIOThreadPool
    private let computeGate: MachineComputeGate?
    private let seed: UInt64
    private let logger: Logger
    private let admission: Mutex<AdmissionStateMachine<CheckedContinuation<Void, any Error>>>
    /// The clock the injected delay runs on (``ContinuousClock`` unless a test injects another).
    private let clock: any Clock<Duration>
    private let pipelines = Mutex<[String: Pipeline]>([:])
    /// The load setting and the measured occupancy (sampled in every mode, so that switching
    /// to `auto` starts from a current estimate).
    private let loadState: Mutex<(setting: NodeLoad, measured: MeasuredLoad)>

    /// Creates a node.
    ///
    /// - Parameters:
    ///   - configuration: Name, policy, load, delay, concurrency and seed; validated here.
    ///   - storage: The shared storage; task paths are relative to its root.
    ///   - scheduler: Overrides the scheduler that `configuration.policy` names.
    ///   - registry: The filters pipelines may name.
    ///   - codec: Decoding limits and options.
    ///   - threadPool: Where decoding, filtering and encoding run (started by its owner).
    ///   - computeGate: Shares the machine's cores with the nodes of other processes: the work on
    ///     an input of at least ``MachineComputeGate/minimumInputBytes`` waits for a permit, on
    ///     the thread pool (that wait counts against the task deadline, as waiting for a pool
    ///     thread does). Default `nil`: no gate; `dip-node` uses
    ///     ``MachineComputeGate/machine(permits:)`` unless told not to.
    ///   - clock: The clock the injected delay runs on (default ``ContinuousClock``; tests
    ///     inject a manual one so a delay costs no wall time).
    ///   - logger: Where the node logs (`debug` per task).
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration`.
    public init(
        configuration: NodeConfiguration,
        storage: SharedStorage,
        scheduler: (any Scheduler)? = nil,
        registry: FilterRegistry = .standard,
        codec: ImageCodec = .default,
        threadPool: NIOThreadPool = .singleton,
        computeGate: MachineComputeGate? = nil,
        clock: any Clock<Duration> = ContinuousClock(),
        logger: Logger
    ) throws {
        try configuration.validate()
        self.configuration = configuration
        self.clock = clock
        self.node = configuration.nodeID
        self.scheduler = scheduler ?? configuration.makeScheduler()
        var storage = storage
        if configuration.durableWrites { storage.durableWrites = true }
        self.storage = storage
        self.registry = registry
        self.codec = codec
        self.threadPool = threadPool
        self.computeGate = computeGate
        self.seed = configuration.seed ?? SystemRandomNumberGenerator().seedValue
        var logger = logger
        logger[metadataKey: "dip.node.id"] = "\(configuration.name)"
        self.logger = logger
        self.admission = Mutex(AdmissionStateMachine(capacity: configuration.maxConcurrentTasks))
        self.loadState = Mutex((configuration.nodeLoad, MeasuredLoad()))
    }

    // MARK: - Load

    /// The load setting now: the configuration's, until ``setLoad(_:)`` changes it.
    public var load: NodeLoad { self.loadState.withLock { $0.setting } }

    /// The load decisions use now, 0…1: the fixed number, or under ``NodeLoad/auto`` the
    /// measured occupancy (``MeasuredLoad``).
    public var currentLoad: Double {
        self.loadState.withLock { state in
            switch state.setting {
            case .fixed(let load): load
            case .auto: state.measured.estimate
            }
        }
    }

    /// Changes the load while the node runs; the next task offered is decided with it (tasks
    /// already decided keep their decision and delay).
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` when a fixed load
    ///   is not a finite number in 0…1 (the setting is then unchanged).
    public func setLoad(_ load: NodeLoad) throws {
        try load.validate(key: "node '\(self.node)': load")
        let previous = self.loadState.withLock { state in
            defer { state.setting = load }
            return state.setting
        }
        if previous != load {
            self.logger.debug("load changed", metadata: ["dip.node.load": "\(load)", "dip.node.previousLoad": "\(previous)"])
        }
    }

    /// Samples the occupancy now into the measured load; returns the load to decide with.
    private func sampleLoad() -> Double {
        let busy = self.admission.withLock { $0.active }
        let slots = self.configuration.maxConcurrentTasks
        return self.loadState.withLock { state in
            state.measured.sample(busy: busy, slots: slots)
            switch state.setting {
            case .fixed(let load): return load
            case .auto: return state.measured.estimate
            }
        }
    }

    /// Decides on `task` and, when it is accepted, runs it to completion.
    ///
    /// Never throws: a rejection, a bad image or a write error are all answered in the receipt.
    public func execute(_ task: TaskRequest) async -> TaskReceipt {
        let start = ContinuousClock.now
        @Sendable func receipt(_ status: TaskStatus, delayed: Bool = false, error: String? = nil) -> TaskReceipt {
            TaskReceipt(
                for: task, status: status, node: self.node, elapsed: (ContinuousClock.now - start).seconds,
                delayed: delayed, error: error)
        }
        var logger = self.logger
        logger[metadataKey: "dip.job.id"] = "\(task.jobID)"
        logger[metadataKey: "dip.task.id"] = "\(task.taskIndex)"

        if self.admission.withLock({ $0.isDraining }) {
            return receipt(.rejected, error: "node is shutting down")
        }
        var generator = self.generator(for: task)
        let delay: Duration
        switch self.scheduler.decide(on: task, load: self.sampleLoad(), using: &generator) {
        case .reject(let reason):
            logger.debug("rejected task", metadata: ["reason": "\(reason)"])
            return receipt(.rejected, error: reason)
        case .accept(let chosen):
            delay = chosen
        }

        let queued = ContinuousClock.now
        switch self.admission.withLock({ $0.tryAdmit(job: task.jobID) }) {
        case .admitted:
            break
        case .draining:
            return receipt(.rejected, error: "node is shutting down")
        case .full:
            do {
                try await self.waitForSlot(job: task.jobID)
            } catch {
                // Not run: the server may place it again (if the job still wants it).
                return receipt(.rejected, error: "task cancelled while queued on node '\(self.node)'")
            }
        }
        _ = self.sampleLoad()  // a task took a slot
        defer {
            self.releaseSlot(job: task.jobID)
            _ = self.sampleLoad()  // and released it
        }
        let queueSeconds = (ContinuousClock.now - queued).seconds
        var answer = await self.run(admitted: task, delay: delay, logger: logger, receipt: receipt)
        answer.queueSeconds = queueSeconds
        return answer
    }

    /// An admitted task, holding its slot: the delay and the work, within the task deadline.
    private func run(
        admitted task: TaskRequest, delay: Duration, logger: Logger,
        receipt make: @escaping @Sendable (TaskStatus, Bool, String?) -> TaskReceipt
    ) async -> TaskReceipt {
        @Sendable func receipt(_ status: TaskStatus, delayed: Bool = false, error: String? = nil) -> TaskReceipt {
            make(status, delayed, error)
        }

        // The deadline counts from here: the queue wait above is not the node's work.
        let taskLogger = logger
        guard let budget = task.runTimeout else {
            return await self.run(task, delay: delay, logger: taskLogger, receipt: { receipt($0, delayed: $1, error: $2) })
        }
        return await withTaskGroup(of: TaskReceipt?.self) { group in
            group.addTask { await self.run(task, delay: delay, logger: taskLogger, receipt: { receipt($0, delayed: $1, error: $2) }) }
            let clock = self.clock
            group.addTask {
                try? await clock.sleep(for: budget)
                return nil
            }
            defer { group.cancelAll() }
            if let first = await group.next(), let answered = first { return answered }
            taskLogger.debug("task past its deadline", metadata: ["input": "\(task.inputPath)", "deadline": "\(budget)"])
            return receipt(
                .failed, delayed: delay > .zero,
                error: "\(task.inputPath): ran past the task deadline of \(Self.describe(budget)) on node '\(self.node)' "
                    + "(time in the node's queue not counted; server.taskTimeout)")
        }
    }

    /// The delay and the work of an admitted task, answered in a receipt.
    private func run(
        _ task: TaskRequest, delay: Duration, logger: Logger,
        receipt: @Sendable (TaskStatus, Bool, String?) -> TaskReceipt
    ) async -> TaskReceipt {
        let delayed = delay > .zero
        if delayed {
            do {
                try await self.clock.sleep(for: delay)
            } catch {
                var answer = receipt(.rejected, true, "task cancelled during the injected delay on node '\(self.node)'")
                answer.delaySeconds = delay.seconds
                return answer
            }
        }
        let began = ContinuousClock.now
        func timed(_ answer: TaskReceipt) -> TaskReceipt {
            var answer = answer
            answer.delaySeconds = delay.seconds
            answer.processingSeconds = (ContinuousClock.now - began).seconds
            return answer
        }
        do {
            let pipeline = try self.pipeline(task.pipeline)
            let storage = self.storage
            let codec = self.codec
            let gate = self.computeGate
            try await self.threadPool.runAbandoningOnCancel {
                try Self.process(task, pipeline: pipeline, codec: codec, storage: storage, gate: gate)
            }
            logger.debug("task succeeded", metadata: ["input": "\(task.inputPath)", "delayed": "\(delayed)"])
            return timed(receipt(.succeeded, delayed, nil))
        } catch is CancellationError {
            return timed(receipt(.rejected, delayed, "task cancelled while it ran on node '\(self.node)'"))
        } catch let error as DistributedImagingError {
            logger.debug("task failed", metadata: ["error": "\(error)"])
            return timed(receipt(.failed, delayed, Self.message(error.message, naming: task.inputPath)))
        } catch {
            logger.debug("task failed", metadata: ["error": "\(error)"])
            return timed(receipt(.failed, delayed, Self.message(DistributedImagingError.message(of: error), naming: task.inputPath)))
        }
    }

    static func describe(_ duration: Duration) -> String {
        let seconds = duration.seconds
        return seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }

    /// The work of one task: read, decode, filter, encode, write atomically. With `gate`, an input
    /// of at least ``MachineComputeGate/minimumInputBytes`` is decoded, filtered and encoded
    /// holding one of its permits (the file is read and written without).
    ///
    /// Runs on a thread-pool thread.
    /// A task whose output is its own input (after resolving symbolic links, or the same device
    /// and inode) is refused with `invalidArgument` before anything is read or written.
    static func process(
        _ task: TaskRequest, pipeline: Pipeline, codec: ImageCodec, storage: SharedStorage, gate: MachineComputeGate? = nil
    ) throws {
        if try storage.isSameFile(task.inputPath, task.outputPath) {
            throw DistributedImagingError.invalidArgument(
                "output '\(task.outputPath)' is the input file itself; refusing to overwrite an input")
        }
        let bytes = try storage.read(task.inputPath)
        let work = {
            try ImageProcessor(pipeline: pipeline, codec: codec)
                .encodedOutput(decoding: bytes, name: task.inputPath, format: task.outputFormat)
        }
        let encoded = if let gate, bytes.count >= MachineComputeGate.minimumInputBytes { try gate.withPermit(work) } else { try work() }
        try storage.write(encoded, to: task.outputPath)
    }

    /// Waits for graceful shutdown, then drains: rejects new tasks and waits for those in flight.
    public func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            return  // cancelled: the task group is going away, tasks in flight are cancelled too
        }
        await self.drain()
    }

    /// Stops accepting tasks and returns once every accepted task has answered.
    public func drain() async {
        if self.admission.withLock({ $0.beginDraining() }) { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if !self.admission.withLock({ $0.waitForDrain(continuation) }) {
                continuation.resume()
            }
        }
    }

    /// The slots: accepted tasks that run at once.
    public var slots: Int? { self.configuration.maxConcurrentTasks }

    /// The number of accepted tasks holding a slot now.
    public var activeTasks: Int { self.admission.withLock { $0.active } }

    /// The node's policy, load, slots, busy slots and queue now: what load-aware placements read.
    public var advertisedState: NodeState? {
        let (busy, queued) = self.admission.withLock { ($0.active, $0.queued) }
        let setting = self.load
        return NodeState(
            policy: self.configuration.policy, load: self.currentLoad, loadMode: setting.mode,
            slots: self.configuration.maxConcurrentTasks, busySlots: busy, queueLength: queued)
    }

    // MARK: - Internals

    private func generator(for task: TaskRequest) -> SeededRandomNumberGenerator {
        Self.decisionGenerator(seed: self.seed, for: task)
    }

    /// The random stream a node seeded with `seed` decides `task` with: one per job, task and
    /// attempt, so a decision does not depend on the order tasks arrive in. The scheduling
    /// experiment (`dip-bench experiment`) draws from the same streams.
    package static func decisionGenerator(seed: UInt64, for task: TaskRequest) -> SeededRandomNumberGenerator {
        let job = SeededRandomNumberGenerator.derive(seed: seed, [task.jobID.rawValue])
        // Bit patterns, not values: an index or attempt out of range must not trap (the wire
        // refuses negative ones; a library caller may still pass them).
        return SeededRandomNumberGenerator(
            seed: SeededRandomNumberGenerator.derive(
                seed: job, UInt64(truncatingIfNeeded: task.taskIndex), UInt64(truncatingIfNeeded: task.attempt)))
    }

    private func waitForSlot(job: JobID) async throws {
        let id = self.admission.withLock { $0.makeWaiterID() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                switch self.admission.withLock({ $0.enqueue(id, job: job, continuation: continuation) }) {
                case .resume: continuation.resume()
                case .cancel: continuation.resume(throwing: CancellationError())
                case .wait: break
                }
            }
        } onCancel: {
            self.admission.withLock { $0.cancel(id) }?.resume(throwing: CancellationError())
        }
    }

    private func releaseSlot(job: JobID) {
        switch self.admission.withLock({ $0.release(job: job) }) {
        case .none: break
        case .resumeWaiter(let waiter): waiter.resume()
        case .drained(let waiters): waiters.forEach { $0.resume() }
        }
    }

    private func pipeline(_ spec: String) throws -> Pipeline {
        if let cached = self.pipelines.withLock({ $0[spec] }) { return cached }
        let pipeline = try Pipeline(parsing: spec, registry: self.registry)
        self.pipelines.withLock { cache in
            if cache.count >= 32 { cache.removeAll() }
            cache[spec] = pipeline
        }
        return pipeline
    }

    private static func message(_ message: String, naming input: String) -> String {
        message.contains(input) ? message : "\(input): \(message)"
    }
}

extension SystemRandomNumberGenerator {
    /// A fresh 64-bit seed from the system's entropy source.
    var seedValue: UInt64 {
        var generator = self
        return generator.next()
    }
}
