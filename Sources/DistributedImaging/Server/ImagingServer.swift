import Logging
import NIOPosix
import Synchronization

/// The server role: lists a job's directory, makes one task per image, places the tasks on
/// nodes and collects one ``JobReceipt``.
///
/// Tasks are dispatched concurrently, at most ``ServerConfiguration/maxConcurrentTasks`` at a
/// time. Each attempt asks ``Placement`` for a node; a rejected task, or one whose node cannot be
/// reached, is placed again — on any node, the same one included — until it is answered or
/// ``ServerConfiguration/maxAttempts`` placements were tried, after which it fails with the last
/// reason. A node's `failed` answer (a corrupt image, say) is final. The job succeeds iff every
/// task succeeded.
///
/// The server's own file work — listing the input, reading a previous receipt, writing
/// `receipt.json` — runs on a `NIOThreadPool`, not on Swift's cooperative pool, and its
/// per-task cost does not grow with the job's size.
///
/// ```swift
/// let server = try ImagingServer(storage: storage, nodes: transport.connections(), logger: logger)
/// let receipt = try await server.submit(JobRequest(inputDirectory: "photos", pipeline: "invert"))
/// ```
public final class ImagingServer: JobSubmitter {
    /// The server's settings.
    public let configuration: ServerConfiguration
    /// The shared storage.
    public let storage: SharedStorage

    private let nodes: [any NodeConnection]
    private let nodeIDs: [NodeID]
    private let placement: any Placement
    private let health: NodeHealth
    private let liveNodes: (@Sendable () -> [any NodeConnection])?
    private let registry: FilterRegistry
    private let seed: UInt64
    private let jobIDs: Mutex<SeededRandomNumberGenerator>
    private let threadPool: NIOThreadPool
    private let receiptEnvironment: ReceiptRecorder.Environment
    private let logger: Logger

    /// Creates a server.
    ///
    /// - Parameters:
    ///   - configuration: Attempts, dispatch bound and seed; validated here.
    ///   - storage: The shared storage; request paths are relative to its root.
    ///   - nodes: The nodes tasks are placed on.
    ///   - placement: Which node to try next (default: uniformly at random, as in the seed).
    ///   - registry: The filters a request's pipeline may name (checked before any task runs).
    ///   - health: Which nodes stopped answering; placement skips them for a while (share one
    ///     between the servers of successive jobs so they learn from each other).
    ///   - liveNodes: Where each attempt reads the nodes to place on, so a running job sees nodes
    ///     come and go (e.g. a registry's live nodes); `nil`, or an empty answer, uses `nodes`.
    ///   - threadPool: Where the server lists inputs and writes `receipt.json` (started by its
    ///     owner; default: NIO's shared pool).
    ///   - logger: Where the server logs (`info` per job, `debug` per attempt).
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` for bad settings or
    ///   two nodes with one name.
    public convenience init(
        configuration: ServerConfiguration = .defaults,
        storage: SharedStorage,
        nodes: [any NodeConnection],
        placement: any Placement = RandomPlacement(),
        registry: FilterRegistry = .standard,
        health: NodeHealth = NodeHealth(),
        liveNodes: (@Sendable () -> [any NodeConnection])? = nil,
        threadPool: NIOThreadPool = .singleton,
        logger: Logger
    ) throws {
        try self.init(
            configuration: configuration, storage: storage, nodes: nodes, placement: placement, registry: registry,
            health: health, liveNodes: liveNodes, threadPool: threadPool,
            receiptEnvironment: .standard(storage: storage, threadPool: threadPool), logger: logger)
    }

    /// Creates a server whose `receipt.json` writes go through `receiptEnvironment` (tests).
    init(
        configuration: ServerConfiguration = .defaults,
        storage: SharedStorage,
        nodes: [any NodeConnection],
        placement: any Placement = RandomPlacement(),
        registry: FilterRegistry = .standard,
        health: NodeHealth = NodeHealth(),
        liveNodes: (@Sendable () -> [any NodeConnection])? = nil,
        threadPool: NIOThreadPool = .singleton,
        receiptEnvironment: ReceiptRecorder.Environment,
        logger: Logger
    ) throws {
        try configuration.validate()
        let ids = nodes.map(\.node)
        if let duplicate = ids.first(where: { id in ids.filter { $0 == id }.count > 1 }) {
            throw DistributedImagingError.invalidConfiguration("two nodes are named '\(duplicate)'")
        }
        self.configuration = configuration
        self.storage = storage
        self.nodes = nodes
        self.nodeIDs = ids
        self.placement = placement
        self.registry = registry
        self.health = health
        self.liveNodes = liveNodes
        self.seed = configuration.seed ?? SystemRandomNumberGenerator().seedValue
        self.jobIDs = Mutex(SeededRandomNumberGenerator(seed: self.seed, deriving: "job-ids"))
        self.threadPool = threadPool
        self.receiptEnvironment = receiptEnvironment
        self.logger = logger
    }

    /// The nodes tasks are placed on.
    public var nodeNames: [NodeID] { self.nodeIDs }

    /// Runs `request` to completion.
    ///
    /// `onEvent` is called from the task that runs each task of the job, so calls for different
    /// tasks may overlap; the events of one task come in order, ``JobEvent/started(jobID:tasks:skipped:)``
    /// comes first and ``JobEvent/finished(_:)`` last, after every other call returned.
    ///
    /// - Returns: The receipt; a job with a failed task, or whose input directory is missing,
    ///   returns status ``JobStatus/failed``. Cancelling the calling task stops placing tasks and
    ///   returns status ``JobStatus/cancelled``.
    /// - Throws: ``DistributedImagingError`` when the request is refused as a whole: a path
    ///   outside the storage root (`pathOutsideStorageRoot`), output and input directories that
    ///   overlap in either direction after resolving symbolic links, or an input or output file
    ///   that a symbolic link puts inside the other directory (`invalidArgument`), a bad pipeline (`invalidPipeline`) or format
    ///   (`invalidArgument`), more images than ``ServerConfiguration/maxImagesPerJob``
    ///   (`invalidArgument`), or no nodes (`unavailable`: neither `liveNodes` nor `nodes` has any).
    ///   A ``Placement`` that returns an index outside the nodes it was given is a programming
    ///   error: the task fails with a message naming the index, and is not placed again.
    public func submit(_ request: JobRequest, onEvent: @escaping @Sendable (JobEvent) async -> Void) async throws -> JobReceipt {
        let start = ContinuousClock.now
        let jobID = self.jobIDs.withLock { generator in
            JobID(String(generator.next(), radix: 16) + String(generator.next(), radix: 16))
        }
        var logger = self.logger
        logger[metadataKey: "dip.job.id"] = "\(jobID)"

        let plan = try self.plan(request)
        guard !self.currentNodes().nodes.isEmpty else {
            throw DistributedImagingError.unavailable("the server has no nodes to place tasks on")
        }
        var recorder: ReceiptRecorder?
        func finish(_ status: JobStatus, _ tasks: [JobReceipt.Task], _ message: String) async -> JobReceipt {
            var receipt = JobReceipt(
                jobID: jobID, status: status, input: plan.input, output: plan.output, pipeline: plan.pipeline,
                tasks: tasks, elapsed: (ContinuousClock.now - start).seconds, message: message)
            if let recorder {
                // Sorted and written off the cooperative pool, before the finished event is sent;
                // the write failing is part of the answer the client gets.
                receipt = await recorder.finish(receipt)
            } else {
                receipt.tasks.sort { $0.input < $1.input }
            }
            logger.info("job finished", metadata: ["status": "\(status)", "message": "\(receipt.message)"])
            await onEvent(.finished(receipt))
            return receipt
        }

        let preparation = try await self.onThreadPool { try self.prepare(request, plan: plan, jobID: jobID) }
        let prepared: Prepared
        switch preparation {
        case .unlistable(let message):
            return await finish(.failed, [], message)
        case .ready(let ready):
            prepared = ready
        }
        let (tasks, skipped, images, unlisted) = (prepared.tasks, prepared.skipped, prepared.images, prepared.unlisted)
        let receipts = ReceiptRecorder(
            jobID: jobID, input: plan.input, output: plan.output, pipeline: plan.pipeline, skipped: skipped, start: start,
            environment: self.receiptEnvironment, logger: logger)
        recorder = receipts
        let onEvent = receipts.observing(onEvent)
        logger.info("job started", metadata: ["input": "\(plan.input)", "tasks": "\(tasks.count)", "skipped": "\(skipped.count)"])
        await onEvent(.started(jobID: jobID, tasks: tasks.count, skipped: skipped.count))

        let unlistedNote = unlisted == 0 ? "" : "; \(unlisted) entries could not be listed"
        if tasks.isEmpty && unlisted > 0 {
            return await finish(.failed, skipped, "\(unlisted) entries under '\(plan.input)' could not be listed; 0 tasks run")
        }
        if tasks.isEmpty && images > 0 {
            return await finish(.succeeded, skipped, "nothing to run: all \(images) images skipped (already complete or not selected)")
        }
        if tasks.isEmpty {
            let note = skipped.isEmpty ? "" : " (\(skipped.count) other entries skipped)"
            return await finish(.succeeded, skipped, "input directory '\(plan.input)' has no images: 0 tasks\(note)")
        }

        let results = await self.dispatch(tasks, logger: logger, onEvent: onEvent)
        self.sweepTemporaryFiles(in: plan.output, logger: logger)
        let counts = JobReceipt.Counts(results)
        let status: JobStatus
        let message: String
        let elapsed = Self.format((ContinuousClock.now - start).seconds)
        let extras = "\(counts.rejections) rejections, \(counts.delayed) delayed"
        if counts.cancelled > 0 {
            status = .cancelled
            message = "job cancelled: \(counts.succeeded) of \(tasks.count) tasks succeeded, \(counts.cancelled) not run"
        } else if counts.failed > 0 || unlisted > 0 {
            status = .failed
            message = "\(counts.failed) of \(tasks.count) tasks failed (\(extras)) in \(elapsed) s\(unlistedNote)"
        } else {
            status = .succeeded
            message = "\(tasks.count) of \(tasks.count) tasks succeeded (\(extras)) in \(elapsed) s"
        }
        return await finish(status, results + skipped, message)
    }

    // MARK: - Planning

    /// What ``prepare(_:plan:jobID:)`` found.
    private enum Preparation: Sendable {
        /// The input cannot be listed: the job fails with this message.
        case unlistable(String)
        case ready(Prepared)
    }

    /// A listed job: the tasks to run and the entries that are not run.
    private struct Prepared: Sendable {
        var tasks: [TaskRequest]
        var skipped: [JobReceipt.Task]
        /// Images in the input (run or skipped).
        var images: Int
        /// Entries that could not be listed (failed, in `skipped`).
        var unlisted: Int
    }

    /// Lists the input and makes the job's tasks: file work, run on the thread pool.
    ///
    /// - Throws: as ``submit(_:onEvent:)`` for a job refused as a whole.
    private func prepare(_ request: JobRequest, plan: Plan, jobID: JobID) throws -> Preparation {
        let listing: SharedStorage.Listing
        do {
            listing = try self.storage.list(plan.input, recursive: request.recursive)
        } catch let error as DistributedImagingError where error.code == .notFound {
            return .unlistable("input directory '\(plan.input)' does not exist")
        } catch let error as DistributedImagingError where error.code == .invalidArgument || error.code == .io {
            return .unlistable(error.message)
        }

        let images = listing.files.filter(OutputNaming.isImage)
        guard images.count <= self.configuration.maxImagesPerJob else {
            throw DistributedImagingError.invalidArgument(
                "'\(plan.input)' holds \(images.count) images, more than this server's limit of "
                    + "\(self.configuration.maxImagesPerJob) per job (server.maxImagesPerJob); split the job")
        }
        var skipped = listing.files.filter { !OutputNaming.isImage($0) }.map { name in
            JobReceipt.Task(
                input: OutputNaming.join(plan.input, name), output: nil, status: .skipped,
                error: "not a .png, .jpg or .jpeg file")
        }
        // Real directories only: the listing reports symbolic links to directories as unusable.
        skipped += listing.directories.map { name in
            JobReceipt.Task(
                input: OutputNaming.join(plan.input, name), output: nil, status: .skipped,
                error: "a directory; submit with recursive to descend")
        }
        // Not UTF-8, past PATH_MAX, a symlink to a directory, unreadable: listed, never dropped.
        let unusable = listing.unusable.map { entry in
            JobReceipt.Task(
                input: OutputNaming.join(plan.input, entry.path), output: nil, status: entry.failed ? .failed : .skipped,
                error: entry.reason)
        }
        skipped += unusable
        let outputs = OutputNaming.names(for: images, fileExtension: request.outputFormat.fileExtension)
        var pairs = zip(images, outputs).map { (input: OutputNaming.join(plan.input, $0.0), output: OutputNaming.join(plan.output, $0.1)) }
        try self.checkNoOutputTouchesAnInput(pairs, plan: plan)
        skipped += RerunSelection(request: request, output: plan.output, pipeline: plan.pipeline, storage: self.storage)
            .filter(&pairs)
        let tasks = pairs.enumerated().map { index, paths in
            TaskRequest(
                jobID: jobID, taskIndex: index, inputPath: paths.input, outputPath: paths.output, pipeline: plan.pipeline,
                outputFormat: request.outputFormat)
        }
        let unlisted = unusable.filter { $0.status == .failed }.count
        return .ready(Prepared(tasks: tasks, skipped: skipped, images: images.count, unlisted: unlisted))
    }

    /// Runs `body` on the thread pool and returns what it returned, whether or not the calling
    /// task is cancelled meanwhile (a cancelled job still answers with its receipt). A pool that
    /// is not running runs it at once on the calling thread.
    private func onThreadPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            self.threadPool.submit { _ in continuation.resume(with: Result { try body() }) }
        }
    }

    private struct Plan {
        var input: String
        var output: String
        var pipeline: String
    }

    private func plan(_ request: JobRequest) throws -> Plan {
        try request.outputFormat.validate()
        let pipeline = try Pipeline(parsing: request.pipeline, registry: self.registry).description
        let input = try self.storage.relativePath(request.inputDirectory)
        let output: String
        if let requested = request.outputDirectory {
            output = try self.storage.relativePath(requested)
        } else {
            guard input != "." else {
                throw DistributedImagingError.invalidArgument(
                    "the input is the storage root itself; name an output directory (the default '<input>-out' would be outside the root)")
            }
            output = try self.storage.relativePath(input + "-out")
        }
        // Both are real paths (symlinks resolved), so a prefix test sees every overlap.
        if Self.overlaps(input, output) {
            throw DistributedImagingError.invalidArgument(
                "output directory '\(output)' and input directory '\(input)' overlap (one is equal to or inside "
                    + "the other, after resolving symbolic links); choose an output outside the input")
        }
        return Plan(input: input, output: output, pipeline: pipeline)
    }

    /// Whether two resolved relative paths (`.` for the root) are equal or one is inside the other.
    static func overlaps(_ a: String, _ b: String) -> Bool {
        a == "." || b == "." || a == b || a.hasPrefix(b + "/") || b.hasPrefix(a + "/")
    }

    /// Refuses the job when a symbolic link inside the input or output directory would make an
    /// output land inside the input directory, or an input live inside the output directory:
    /// a task would then write over an input.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidArgument` naming the file.
    private func checkNoOutputTouchesAnInput(_ pairs: [(input: String, output: String)], plan: Plan) throws {
        // A path that a symbolic link takes out of the storage root is not refused here: its
        // task fails on its own (the node refuses it), and the rest of the job runs.
        func relative(_ path: String) throws -> String? {
            do {
                return try self.storage.relativePath(path)
            } catch let error as DistributedImagingError where error.code == .pathOutsideStorageRoot {
                return nil
            }
        }
        for pair in pairs {
            if let output = try relative(pair.output), Self.overlaps(output, plan.input) {
                throw DistributedImagingError.invalidArgument(
                    "output '\(pair.output)' resolves to '\(output)', inside the input directory '\(plan.input)' "
                        + "(a symbolic link); it would overwrite an input")
            }
            if let input = try relative(pair.input), Self.overlaps(input, plan.output) {
                throw DistributedImagingError.invalidArgument(
                    "input '\(pair.input)' resolves to '\(input)', inside the output directory '\(plan.output)' "
                        + "(a symbolic link); the job could overwrite it")
            }
        }
    }

    // MARK: - Dispatch

    private func dispatch(
        _ tasks: [TaskRequest], logger: Logger, onEvent: @escaping @Sendable (JobEvent) async -> Void
    ) async -> [JobReceipt.Task] {
        let occupancy = NodeOccupancy()
        return await withTaskGroup(of: (Int, JobReceipt.Task).self) { group in
            var results = [JobReceipt.Task?](repeating: nil, count: tasks.count)
            var next = 0
            let bound = min(self.configuration.maxConcurrentTasks, tasks.count)
            while next < bound {
                let task = tasks[next]
                group.addTask { (task.taskIndex, await self.run(task, occupancy: occupancy, logger: logger, onEvent: onEvent)) }
                next += 1
            }
            for await (index, result) in group {
                results[index] = result
                if next < tasks.count {
                    let task = tasks[next]
                    group.addTask { (task.taskIndex, await self.run(task, occupancy: occupancy, logger: logger, onEvent: onEvent)) }
                    next += 1
                }
            }
            return zip(tasks, results).map { task, result in
                result ?? JobReceipt.Task(
                    input: task.inputPath, output: task.outputPath, status: .failed, error: "internal error: no result")
            }
        }
    }

    /// Places one task until a node answers it or attempts run out.
    private func run(
        _ base: TaskRequest, occupancy: NodeOccupancy, logger: Logger, onEvent: @escaping @Sendable (JobEvent) async -> Void
    ) async -> JobReceipt.Task {
        var generator = SeededRandomNumberGenerator(
            seed: SeededRandomNumberGenerator.derive(
                seed: SeededRandomNumberGenerator.derive(seed: self.seed, ["placement", base.jobID.rawValue]),
                UInt64(base.taskIndex)))
        var tried: [NodeID] = []
        var rejections = 0
        var lost: [String] = []
        var lastReason = ""
        var lastNode: NodeID?
        let start = ContinuousClock.now
        // Taken before any node reads the input: an edit after this shows on the next re-run.
        let input = (try? self.storage.status(base.inputPath)) ?? nil
        func entry(_ status: JobReceipt.Outcome, delayed: Bool = false, error: String? = nil) -> JobReceipt.Task {
            var task = JobReceipt.Task(
                input: base.inputPath, output: base.outputPath, status: status, node: lastNode, attempts: tried.count,
                rejections: rejections, delayed: delayed, elapsed: (ContinuousClock.now - start).seconds, error: error,
                lostAttempts: lost)
            if status == .succeeded, let input, let output = (try? self.storage.status(base.outputPath)) ?? nil {
                task.inputSize = input.size
                task.inputModifiedNanoseconds = input.modifiedNanoseconds
                task.outputSize = output.size
            }
            return task
        }
        func cancelled() -> JobReceipt.Task { entry(.cancelled, error: "job cancelled before the task ended") }

        for attempt in 1...self.configuration.maxAttempts {
            if Task.isCancelled { return cancelled() }
            var request = base
            request.attempt = attempt
            request.runTimeout = self.configuration.taskTimeout
            let connection: any NodeConnection
            switch await self.place(request, tried: tried, occupancy: occupancy, using: &generator) {
            case .node(let chosen):
                connection = chosen
            case .cancelled:
                return cancelled()
            case .noNodes:
                // Every node left while the job ran (the live list and the initial list are empty).
                let last = lastReason.isEmpty ? "" : "; last: \(lastReason)"
                let result = entry(.failed, error: "no nodes to place the task on (attempt \(attempt))\(last)")
                await onEvent(.completed(result))
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
                await onEvent(.completed(result))
                return result
            }
            defer { occupancy.release(connection.node) }
            tried.append(connection.node)
            lastNode = connection.node
            await onEvent(.placed(taskIndex: base.taskIndex, input: base.inputPath, node: connection.node, attempt: attempt))
            var reason = ""
            do {
                let receipt = try await connection.run(request)
                self.health.markAlive(connection.node)
                switch receipt.status {
                case .succeeded:
                    let result = entry(.succeeded, delayed: receipt.delayed)
                    await onEvent(.completed(result))
                    return result
                case .failed:
                    if Task.isCancelled { return cancelled() }
                    let result = entry(.failed, delayed: receipt.delayed, error: receipt.error ?? "failed on node '\(connection.node)'")
                    await onEvent(.completed(result))
                    return result
                case .rejected:
                    rejections += 1
                    reason = receipt.error ?? "rejected"
                }
            } catch {
                if Task.isCancelled { return cancelled() }
                self.health.markUnreachable(connection.node)
                let timedOut = (error as? DistributedImagingError)?.code == .timedOut
                reason = timedOut ? "past the task deadline: \(error)" : "unreachable: \(error)"
                lost.append("attempt \(attempt) on node '\(connection.node)': \(reason)")
            }
            lastReason = "node '\(connection.node)': \(reason)"
            logger.debug(
                "attempt declined",
                metadata: ["dip.task.id": "\(base.taskIndex)", "dip.node.id": "\(connection.node)", "reason": "\(lastReason)"])
            await onEvent(
                .rejected(taskIndex: base.taskIndex, input: base.inputPath, node: connection.node, attempt: attempt, reason: reason))
        }
        let breakdown = lost.isEmpty ? "" : " (\(rejections) rejected, \(lost.count) lost)"
        let result = entry(
            .failed,
            error: "no node took the task in \(self.configuration.maxAttempts) attempts\(breakdown); last: \(lastReason)")
        await onEvent(.completed(result))
        return result
    }

    private enum PlacementOutcome {
        case node(any NodeConnection)
        case cancelled
        case noNodes
        case outOfRange(index: Int, count: Int)
    }

    /// Chooses the node for `request` among the nodes that are not suspect and have room for
    /// one more of the job's tasks, and takes that room; waits while every node is full.
    private func place(
        _ request: TaskRequest, tried: [NodeID], occupancy: NodeOccupancy, using generator: inout SeededRandomNumberGenerator
    ) async -> PlacementOutcome {
        while !Task.isCancelled {
            let generation = occupancy.generation
            let (nodes, nodeIDs) = self.currentNodes()
            guard !nodes.isEmpty else { return .noNodes }
            let open = self.health.available(among: nodeIDs).filter { occupancy.hasRoom(nodeIDs[$0], slots: nodes[$0].slots) }
            guard !open.isEmpty else {
                await occupancy.waitForRoom(after: generation)
                continue
            }
            let index = self.placement.choose(for: request, among: open.map { nodeIDs[$0] }, tried: tried, using: &generator)
            guard open.indices.contains(index) else { return .outOfRange(index: index, count: open.count) }
            let connection = nodes[open[index]]
            if occupancy.take(connection.node, slots: connection.slots) { return .node(connection) }
        }
        return .cancelled
    }

    /// The nodes to place on now: the live list when there is one and it is not empty, else
    /// the nodes the server was created with.
    private func currentNodes() -> (nodes: [any NodeConnection], ids: [NodeID]) {
        if let live = self.liveNodes?(), !live.isEmpty { return (live, live.map(\.node)) }
        return (self.nodes, self.nodeIDs)
    }

    static func format(_ seconds: Double) -> String {
        let milliseconds = (seconds * 1000).rounded()
        let whole = Int(milliseconds) / 1000
        let fraction = Int(milliseconds) % 1000
        let padded = String(fraction).count < 3 ? String(repeating: "0", count: 3 - String(fraction).count) + String(fraction) : String(fraction)
        return "\(whole).\(padded)"
    }
}
