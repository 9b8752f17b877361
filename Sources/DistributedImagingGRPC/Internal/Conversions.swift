import Foundation
import DistributedImaging
import GRPCCore
import SwiftProtobuf

// Every mapping between the wire types (`Dip_V1_*`) and the library's model lives here.

// MARK: - Output format

extension Dip_V1_OutputFormat {
    init(_ format: OutputFormat) {
        self.init()
        self.kind = format.kind == .jpeg ? .jpeg : .png
        self.quality = Int32(clamping: format.quality)
        self.compressionLevel = Int32(clamping: format.compressionLevel)
    }
}

extension OutputFormat {
    /// The format a request names; `nil` is PNG. An unknown kind or a quality or level out of
    /// range is refused (`invalidArgument`, naming the field).
    init(_ wire: Dip_V1_OutputFormat?) throws(RPCError) {
        guard let wire else {
            self = .png
            return
        }
        let kind: OutputFormat.Kind
        switch wire.kind {
        case .unspecified, .png: kind = .png
        case .jpeg: kind = .jpeg
        case .UNRECOGNIZED(let value):
            throw WireRange.refused("output_format.kind must be KIND_PNG (1) or KIND_JPEG (2), not \(value)")
        }
        var format = OutputFormat(kind: kind)
        if wire.quality != 0 {
            guard (1...100).contains(wire.quality) else {
                throw WireRange.refused("output_format.quality must be in 1…100 (0 for the default), not \(wire.quality)")
            }
            format.quality = Int(wire.quality)
        }
        if wire.hasCompressionLevel {
            guard (0...9).contains(wire.compressionLevel) else {
                throw WireRange.refused("output_format.compression_level must be in 0…9, not \(wire.compressionLevel)")
            }
            format.compressionLevel = Int(wire.compressionLevel)
        }
        self = format
    }
}

// MARK: - Job request

extension Dip_V1_JobRequest {
    init(_ request: JobRequest) {
        self.init()
        self.inputDirectory = request.inputDirectory
        if let output = request.outputDirectory { self.outputDirectory = output }
        self.pipeline = request.pipeline
        self.outputFormat = Dip_V1_OutputFormat(request.outputFormat)
        self.recursive = request.recursive
        self.force = request.force
        if let only = request.only { self.only = .with { $0.paths = only } }
    }
}

extension JobRequest {
    /// The request a client sent; an output format out of range is refused (`invalidArgument`).
    init(_ wire: Dip_V1_JobRequest) throws(RPCError) {
        self.init(
            inputDirectory: wire.inputDirectory,
            outputDirectory: wire.hasOutputDirectory ? wire.outputDirectory : nil,
            pipeline: wire.pipeline.isEmpty ? JobRequest.defaultPipeline : wire.pipeline,
            outputFormat: try OutputFormat(wire.hasOutputFormat ? wire.outputFormat : nil),
            recursive: wire.recursive,
            force: wire.force,
            only: wire.hasOnly ? wire.only.paths : nil
        )
    }
}

// MARK: - Job receipt

extension Dip_V1_JobTask {
    init(_ task: JobReceipt.Task) {
        self.init()
        self.input = task.input
        if let output = task.output { self.output = output }
        self.status = Dip_V1_TaskOutcome(task.status)
        if let node = task.node { self.node = node.rawValue }
        self.attempts = Int32(clamping: task.attempts)
        self.rejections = Int32(clamping: task.rejections)
        self.delayed = task.delayed
        self.elapsedSeconds = task.elapsed
        if let error = task.error { self.error = error }
        self.lostAttempts = task.lostAttempts
        if let size = task.inputSize { self.inputSize = size }
        if let modified = task.inputModifiedNanoseconds { self.inputModifiedNanoseconds = modified }
        if let size = task.outputSize { self.outputSize = size }
        if let seconds = task.queueSeconds { self.queueSeconds = seconds }
        if let seconds = task.delaySeconds { self.delaySeconds = seconds }
        if let seconds = task.processingSeconds { self.processingSeconds = seconds }
    }
}

extension JobReceipt.Task {
    init(_ wire: Dip_V1_JobTask) throws(RPCError) {
        self.init(
            input: wire.input,
            output: wire.hasOutput ? wire.output : nil,
            status: try JobReceipt.Outcome(wire.status),
            node: wire.hasNode ? NodeID(wire.node) : nil,
            attempts: try WireRange.count(wire.attempts, "attempts", in: .response),
            rejections: try WireRange.count(wire.rejections, "rejections", in: .response),
            delayed: wire.delayed,
            elapsed: try WireRange.seconds(wire.elapsedSeconds, "elapsed_seconds", in: .response),
            error: wire.hasError ? wire.error : nil,
            lostAttempts: wire.lostAttempts,
            inputSize: wire.hasInputSize ? wire.inputSize : nil,
            inputModifiedNanoseconds: wire.hasInputModifiedNanoseconds ? wire.inputModifiedNanoseconds : nil,
            outputSize: wire.hasOutputSize ? wire.outputSize : nil
        )
        if wire.hasQueueSeconds { self.queueSeconds = try WireRange.seconds(wire.queueSeconds, "queue_seconds", in: .response) }
        if wire.hasDelaySeconds { self.delaySeconds = try WireRange.seconds(wire.delaySeconds, "delay_seconds", in: .response) }
        if wire.hasProcessingSeconds {
            self.processingSeconds = try WireRange.seconds(wire.processingSeconds, "processing_seconds", in: .response)
        }
    }
}

extension Dip_V1_TaskOutcome {
    init(_ outcome: JobReceipt.Outcome) {
        switch outcome {
        case .succeeded: self = .succeeded
        case .failed: self = .failed
        case .skipped: self = .skipped
        case .cancelled: self = .cancelled
        }
    }
}

extension JobReceipt.Outcome {
    init(_ wire: Dip_V1_TaskOutcome) throws(RPCError) {
        switch wire {
        case .succeeded: self = .succeeded
        case .failed: self = .failed
        case .skipped: self = .skipped
        case .cancelled: self = .cancelled
        case .unspecified, .UNRECOGNIZED: throw malformed("task outcome \(wire.rawValue)")
        }
    }
}

extension Dip_V1_JobStatus {
    init(_ status: JobStatus) {
        switch status {
        case .succeeded: self = .succeeded
        case .failed: self = .failed
        case .cancelled: self = .cancelled
        case .running: self = .running
        }
    }
}

extension JobStatus {
    init(_ wire: Dip_V1_JobStatus) throws(RPCError) {
        switch wire {
        case .succeeded: self = .succeeded
        case .failed: self = .failed
        case .cancelled: self = .cancelled
        case .running: self = .running
        case .unspecified, .UNRECOGNIZED: throw malformed("job status \(wire.rawValue)")
        }
    }
}

extension Dip_V1_JobReceipt {
    init(_ receipt: JobReceipt) {
        self.init()
        self.jobID = receipt.jobID.rawValue
        self.status = Dip_V1_JobStatus(receipt.status)
        self.input = receipt.input
        self.output = receipt.output
        self.pipeline = receipt.pipeline
        self.tasks = receipt.tasks.map(Dip_V1_JobTask.init)
        self.counts = Dip_V1_JobCounts(receipt.counts)
        self.elapsedSeconds = receipt.elapsed
        self.message = receipt.message
        if let makespan = receipt.makespan { self.makespanSeconds = makespan }
        if let latency = receipt.taskLatency {
            self.taskLatency = .with {
                $0.p50Seconds = latency.p50
                $0.p95Seconds = latency.p95
                $0.p99Seconds = latency.p99
            }
        }
    }
}

extension Dip_V1_JobCounts {
    init(_ counts: JobReceipt.Counts) {
        self.init()
        self.total = Int32(clamping: counts.total)
        self.succeeded = Int32(clamping: counts.succeeded)
        self.failed = Int32(clamping: counts.failed)
        self.skipped = Int32(clamping: counts.skipped)
        self.cancelled = Int32(clamping: counts.cancelled)
        self.rejections = Int32(clamping: counts.rejections)
        self.delayed = Int32(clamping: counts.delayed)
    }
}

extension JobReceipt {
    /// The receipt; counts are recomputed from the tasks (the wire's are informative).
    init(_ wire: Dip_V1_JobReceipt) throws(RPCError) {
        var tasks: [JobReceipt.Task] = []
        tasks.reserveCapacity(wire.tasks.count)
        for task in wire.tasks { tasks.append(try JobReceipt.Task(task)) }
        self.init(
            jobID: JobID(wire.jobID), status: try JobStatus(wire.status), input: wire.input, output: wire.output,
            pipeline: wire.pipeline, tasks: tasks,
            elapsed: try WireRange.seconds(wire.elapsedSeconds, "elapsed_seconds", in: .response), message: wire.message)
        if wire.hasMakespanSeconds {
            self.makespan = try WireRange.seconds(wire.makespanSeconds, "makespan_seconds", in: .response)
        }
        if wire.hasTaskLatency {
            self.taskLatency = JobReceipt.LatencyPercentiles(
                p50: try WireRange.seconds(wire.taskLatency.p50Seconds, "task_latency.p50_seconds", in: .response),
                p95: try WireRange.seconds(wire.taskLatency.p95Seconds, "task_latency.p95_seconds", in: .response),
                p99: try WireRange.seconds(wire.taskLatency.p99Seconds, "task_latency.p99_seconds", in: .response))
        }
    }
}

// MARK: - Job events

extension Dip_V1_JobEvent {
    init(_ event: JobEvent) {
        self.init()
        switch event {
        case .started(let jobID, let tasks, let skipped):
            self.started = .with {
                $0.jobID = jobID.rawValue
                $0.tasks = Int32(clamping: tasks)
                $0.skipped = Int32(clamping: skipped)
            }
        case .placed(let taskIndex, let input, let node, let attempt):
            self.placed = .with {
                $0.taskIndex = Int32(clamping: taskIndex)
                $0.input = input
                $0.node = node.rawValue
                $0.attempt = Int32(clamping: attempt)
            }
        case .rejected(let taskIndex, let input, let node, let attempt, let reason):
            self.rejected = .with {
                $0.taskIndex = Int32(clamping: taskIndex)
                $0.input = input
                $0.node = node.rawValue
                $0.attempt = Int32(clamping: attempt)
                $0.reason = reason
            }
        case .completed(let task):
            self.completed = Dip_V1_JobTask(task)
        case .finished(let receipt):
            self.finished = Dip_V1_JobReceipt(receipt)
        case .snapshot(let record):
            self.snapshot = Dip_V1_JobRecord(record)
        }
    }
}

extension JobEvent {
    init(_ wire: Dip_V1_JobEvent) throws(RPCError) {
        switch wire.event {
        case .started(let started):
            self = .started(
                jobID: JobID(started.jobID), tasks: try WireRange.count(started.tasks, "tasks", in: .response),
                skipped: try WireRange.count(started.skipped, "skipped", in: .response))
        case .placed(let placed):
            self = .placed(
                taskIndex: try WireRange.count(placed.taskIndex, "task_index", in: .response), input: placed.input,
                node: NodeID(placed.node), attempt: try WireRange.count(placed.attempt, "attempt", in: .response))
        case .rejected(let rejected):
            self = .rejected(
                taskIndex: try WireRange.count(rejected.taskIndex, "task_index", in: .response), input: rejected.input,
                node: NodeID(rejected.node), attempt: try WireRange.count(rejected.attempt, "attempt", in: .response),
                reason: rejected.reason)
        case .completed(let task):
            self = .completed(try JobReceipt.Task(task))
        case .finished(let receipt):
            self = .finished(try JobReceipt(receipt))
        case .snapshot(let record):
            self = .snapshot(try JobRecord(record))
        case .none:
            throw malformed("job event without a case")
        }
    }
}

// MARK: - Job records

extension Dip_V1_JobRecord {
    init(_ record: JobRecord) {
        self.init()
        self.jobID = record.id.rawValue
        self.request = Dip_V1_JobRequest(record.request)
        self.status = Dip_V1_JobStatus(record.state)
        self.input = record.input
        self.output = record.output
        self.pipeline = record.pipeline
        self.tasks = Int32(clamping: record.tasks)
        self.skipped = Int32(clamping: record.skipped)
        self.succeeded = Int32(clamping: record.succeeded)
        self.failed = Int32(clamping: record.failed)
        self.submittedSeconds = record.submitted.timeIntervalSince1970
        self.endedSeconds = record.ended?.timeIntervalSince1970 ?? 0
        self.message = record.message
        self.elapsedSeconds = record.elapsed
    }
}

extension JobRecord {
    /// A record from a server: counts, times and status are range-checked.
    init(_ wire: Dip_V1_JobRecord) throws(RPCError) {
        let ended = try WireRange.seconds(wire.endedSeconds, "ended_seconds", in: .response)
        self.init(
            id: JobID(wire.jobID), request: try JobRequest(wire.request), state: try JobStatus(wire.status),
            input: wire.input, output: wire.output, pipeline: wire.pipeline,
            tasks: try WireRange.count(wire.tasks, "tasks", in: .response),
            skipped: try WireRange.count(wire.skipped, "skipped", in: .response),
            succeeded: try WireRange.count(wire.succeeded, "succeeded", in: .response),
            failed: try WireRange.count(wire.failed, "failed", in: .response),
            submitted: Date(timeIntervalSince1970: try WireRange.seconds(wire.submittedSeconds, "submitted_seconds", in: .response)),
            ended: ended > 0 ? Date(timeIntervalSince1970: ended) : nil, message: wire.message,
            elapsed: try WireRange.seconds(wire.elapsedSeconds, "elapsed_seconds", in: .response))
    }
}

// MARK: - Tasks

extension Dip_V1_TaskRequest {
    init(_ task: TaskRequest) {
        self.init()
        self.jobID = task.jobID.rawValue
        self.taskIndex = Int32(clamping: task.taskIndex)
        self.inputPath = task.inputPath
        self.outputPath = task.outputPath
        self.pipeline = task.pipeline
        self.outputFormat = Dip_V1_OutputFormat(task.outputFormat)
        self.attempt = Int32(clamping: task.attempt)
    }
}

extension TaskRequest {
    /// The task a server sent; values out of range are refused (`invalidArgument`, naming the field).
    init(_ wire: Dip_V1_TaskRequest) throws(RPCError) {
        self.init(
            jobID: JobID(wire.jobID), taskIndex: try WireRange.count(wire.taskIndex, "task_index", in: .request),
            inputPath: wire.inputPath, outputPath: wire.outputPath, pipeline: wire.pipeline,
            outputFormat: try OutputFormat(wire.hasOutputFormat ? wire.outputFormat : nil),
            attempt: try WireRange.count(wire.attempt, "attempt", in: .request))
    }
}

extension Dip_V1_TaskReceipt {
    init(_ receipt: TaskReceipt) {
        self.init()
        self.jobID = receipt.jobID.rawValue
        self.taskIndex = Int32(clamping: receipt.taskIndex)
        self.attempt = Int32(clamping: receipt.attempt)
        switch receipt.status {
        case .succeeded: self.status = .succeeded
        case .failed: self.status = .failed
        case .rejected: self.status = .rejected
        }
        self.node = receipt.node.rawValue
        self.elapsedSeconds = receipt.elapsed
        self.delayed = receipt.delayed
        if let error = receipt.error { self.error = error }
        if let seconds = receipt.queueSeconds { self.queueSeconds = seconds }
        if let seconds = receipt.delaySeconds { self.delaySeconds = seconds }
        if let seconds = receipt.processingSeconds { self.processingSeconds = seconds }
    }
}

extension TaskReceipt {
    init(_ wire: Dip_V1_TaskReceipt) throws(RPCError) {
        let status: TaskStatus
        switch wire.status {
        case .succeeded: status = .succeeded
        case .failed: status = .failed
        case .rejected: status = .rejected
        case .unspecified, .UNRECOGNIZED: throw malformed("task status \(wire.status.rawValue)")
        }
        self.init(
            jobID: JobID(wire.jobID), taskIndex: try WireRange.count(wire.taskIndex, "task_index", in: .response),
            attempt: try WireRange.count(wire.attempt, "attempt", in: .response), status: status,
            node: NodeID(wire.node), elapsed: try WireRange.seconds(wire.elapsedSeconds, "elapsed_seconds", in: .response),
            delayed: wire.delayed,
            error: wire.hasError ? wire.error : nil)
        if wire.hasQueueSeconds { self.queueSeconds = try WireRange.seconds(wire.queueSeconds, "queue_seconds", in: .response) }
        if wire.hasDelaySeconds { self.delaySeconds = try WireRange.seconds(wire.delaySeconds, "delay_seconds", in: .response) }
        if wire.hasProcessingSeconds {
            self.processingSeconds = try WireRange.seconds(wire.processingSeconds, "processing_seconds", in: .response)
        }
    }
}

// MARK: - Nodes and status

extension Dip_V1_NodeInfo {
    init(_ node: NodeAdvertisement) {
        self.init()
        self.name = node.name.rawValue
        self.address = node.address
        switch node.policy {
        case .mandatory: self.policy = .mandatory
        case .optional: self.policy = .optional
        case .none: self.policy = .unspecified
        }
        self.load = node.load
        self.maxConcurrentTasks = Int32(clamping: node.maxConcurrentTasks)
        self.activeTasks = Int32(clamping: node.activeTasks)
        self.softwareVersion = node.softwareVersion
        self.source = node.source.rawValue
        if let activity = node.activity {
            self.activity = .with {
                $0.inFlight = Int32(clamping: activity.inFlight)
                $0.done = Int32(clamping: activity.done)
                $0.failed = Int32(clamping: activity.failed)
                $0.rejected = Int32(clamping: activity.rejected)
            }
        }
        if let suspect = node.suspect { self.suspect = suspect }
        switch node.loadMode {
        case .fixed?: self.loadMode = .fixed
        case .auto?: self.loadMode = .auto
        case nil: self.loadMode = .unspecified
        }
        if let queued = node.queuedTasks { self.queuedTasks = Int32(clamping: queued) }
        self.taskAddress = node.taskAddress ?? ""
    }
}

extension NodeAdvertisement {
    init(_ wire: Dip_V1_NodeInfo) {
        let policy: SchedulingPolicy?
        switch wire.policy {
        case .mandatory: policy = .mandatory
        case .optional: policy = .optional
        case .unspecified, .UNRECOGNIZED: policy = nil
        }
        self.init(
            name: NodeID(wire.name), address: wire.address, policy: policy, load: wire.load,
            maxConcurrentTasks: Int(wire.maxConcurrentTasks), activeTasks: Int(wire.activeTasks),
            softwareVersion: wire.softwareVersion,
            source: NodeAdvertisement.Source(rawValue: wire.source) ?? .registered,
            activity: wire.hasActivity
                ? ClusterActivity.NodeActivity(
                    inFlight: Int(wire.activity.inFlight), done: Int(wire.activity.done), failed: Int(wire.activity.failed),
                    rejected: Int(wire.activity.rejected))
                : nil,
            suspect: wire.hasSuspect ? wire.suspect : nil, loadMode: NodeLoad.Mode(wire.loadMode),
            queuedTasks: wire.hasQueuedTasks ? Int(wire.queuedTasks) : nil,
            taskAddress: wire.taskAddress.isEmpty ? nil : wire.taskAddress)
    }
}

extension NodeLoad.Mode {
    /// The wire's mode; `nil` when unset or unknown (a newer peer's mode is shown as not told).
    init?(_ wire: Dip_V1_LoadMode) {
        switch wire {
        case .fixed: self = .fixed
        case .auto: self = .auto
        case .unspecified, .UNRECOGNIZED: return nil
        }
    }
}

extension NodeAdvertisement {
    /// What a node registers with. An unknown policy is refused (`invalidArgument`, naming the
    /// field); ``DistributedImaging/NodeMembership/register(_:)`` checks the rest. An address
    /// that parses is written as ``PeerAddress`` writes it. The version is kept to a bounded
    /// excerpt: it is only shown.
    init(registration wire: Dip_V1_NodeInfo) throws(RPCError) {
        if case .UNRECOGNIZED(let value) = wire.policy {
            throw WireRange.refused(
                "policy must be SCHEDULING_POLICY_MANDATORY (1) or SCHEDULING_POLICY_OPTIONAL (2), not \(value)")
        }
        if case .UNRECOGNIZED(let value) = wire.loadMode {
            throw WireRange.refused("load_mode must be LOAD_MODE_FIXED (1) or LOAD_MODE_AUTO (2), not \(value)")
        }
        self.init(wire)
        if let address = try? PeerAddress(parsing: wire.address) { self.address = "\(address)" }
        self.taskAddress = self.taskAddress.map { Echo.excerpt($0, limit: 300) }
        self.softwareVersion = Echo.excerpt(wire.softwareVersion, limit: 100)
        self.activity = nil
        self.suspect = nil
    }
}

extension Dip_V1_GetStatusResponse {
    init(_ status: PeerStatus) {
        self.init()
        self.protocolVersion = Dip_V1_ProtocolVersion(rawValue: status.protocolVersion) ?? .unspecified
        self.softwareVersion = status.softwareVersion
        self.role = status.role == .server ? .server : .node
        self.serving = status.serving
        if let node = status.node { self.node = Dip_V1_NodeInfo(node) }
        self.nodes = status.nodes.map(Dip_V1_NodeInfo.init)
        self.jobs = status.jobs.map { job in
            .with {
                $0.jobID = job.jobID.rawValue
                $0.input = job.input
                $0.done = Int32(clamping: job.done)
                $0.failed = Int32(clamping: job.failed)
                $0.total = Int32(clamping: job.total)
                $0.elapsedSeconds = job.elapsed
            }
        }
    }
}

extension PeerStatus {
    init(_ wire: Dip_V1_GetStatusResponse) {
        self.init(
            role: wire.role == .server ? .server : .node,
            protocolVersion: wire.protocolVersion.rawValue,
            softwareVersion: wire.softwareVersion,
            serving: wire.serving,
            node: wire.hasNode ? NodeAdvertisement(wire.node) : nil,
            nodes: wire.nodes.map { NodeAdvertisement($0) },
            jobs: wire.jobs.map { job in
                ClusterActivity.Job(
                    jobID: JobID(job.jobID), input: job.input, done: Int(job.done), failed: Int(job.failed),
                    total: Int(job.total), elapsed: job.elapsedSeconds)
            })
    }
}

// MARK: - Errors

/// Keys of the response metadata that carries a ``DistributedImagingError`` across the wire.
enum ErrorMetadata {
    /// The error's ``DistributedImagingError/Code`` description, e.g. `pathOutsideStorageRoot`.
    static let codeKey = "dip-error-code"
}

extension RPCError {
    /// The status a served ``DistributedImagingError`` travels as; its code rides along in the
    /// `dip-error-code` trailer so a Swift caller gets the same error back.
    init(_ error: DistributedImagingError) {
        let code: RPCError.Code
        switch error.code {
        case .invalidPipeline, .invalidArgument, .invalidConfiguration, .invalidImage, .unsupportedImage,
            .imageTooLarge, .fileTooLarge:
            code = .invalidArgument
        case .pathOutsideStorageRoot: code = .permissionDenied
        case .notFound: code = .notFound
        case .unavailable: code = .unavailable
        case .cancelled: code = .cancelled
        case .timedOut: code = .deadlineExceeded
        case .unauthenticated: code = .unauthenticated
        default: code = .internalError
        }
        // The message travels in a header (HTTP/2 header lists are limited to 16 KB): keep it
        // well under, whatever input it echoes.
        self.init(
            code: code, message: Echo.excerpt(error.message, limit: Self.maxMessageScalars),
            metadata: [ErrorMetadata.codeKey: .string(error.code.description)])
    }

    /// The longest served error message, in Unicode scalars: at most 2.4 KB of UTF-8, 7.2 KB percent-encoded in `grpc-message`.
    static let maxMessageScalars = 600
}

extension DistributedImagingError {
    /// The library error for a failed call to `peer` (e.g. "dip-server at 127.0.0.1:7000").
    static func fromRPC(_ error: any Error, peer: String) -> DistributedImagingError {
        if let error = error as? DistributedImagingError { return error }
        if let rpc = error as? RPCError {
            if let name = rpc.metadata[stringValues: ErrorMetadata.codeKey].first(where: { _ in true }),
                let code = DistributedImagingError.Code(name)
            {
                return DistributedImagingError(code: code, message: rpc.message, cause: rpc)
            }
            let (code, message): (DistributedImagingError.Code, String)
            switch rpc.code {
            case .unavailable: (code, message) = (.unavailable, "cannot reach \(peer): \(rpc.message)")
            case .deadlineExceeded: (code, message) = (.timedOut, "\(peer) did not answer in time: \(rpc.message)")
            case .cancelled: (code, message) = (.cancelled, "the call to \(peer) was cancelled")
            case .failedPrecondition: (code, message) = (.invalidConfiguration, "\(peer): \(rpc.message)")
            case .unimplemented:
                (code, message) = (
                    .invalidConfiguration,
                    "\(peer) does not serve this call (is it the right kind of process, and the same "
                        + "DistributedImaging release?): \(rpc.message)"
                )
            case .invalidArgument: (code, message) = (.invalidArgument, rpc.message)
            case .permissionDenied: (code, message) = (.pathOutsideStorageRoot, rpc.message)
            case .notFound: (code, message) = (.notFound, rpc.message)
            case .unauthenticated: (code, message) = (.unauthenticated, "\(peer): \(rpc.message)")
            default: (code, message) = (.internalError, "\(peer) failed: \(rpc.code): \(rpc.message)")
            }
            return DistributedImagingError(code: code, message: message, cause: rpc)
        }
        if let runtime = error as? RuntimeError {
            return DistributedImagingError(code: .unavailable, message: "cannot reach \(peer): \(runtime.message)", cause: runtime)
        }
        if error is CancellationError {
            return DistributedImagingError(code: .cancelled, message: "the call to \(peer) was cancelled", cause: error)
        }
        return DistributedImagingError(code: .internalError, message: "calling \(peer) failed: \(error)", cause: error)
    }
}

/// A message that does not follow the contract.
func malformed(_ what: String) -> RPCError {
    RPCError(code: .internalError, message: "malformed dip.v1 message: unexpected \(what)")
}

/// Range checks for numbers that arrive over the wire, before any of them is used.
///
/// A value out of range in a request fails that call with `invalidArgument` (and the library's
/// code in the `dip-error-code` trailer); in a response, the call fails as a malformed message.
/// Either way the message names the field and the value, e.g. "task_index must be ≥ 0, not -1".
enum WireRange {
    /// Which way the message travelled.
    enum Direction {
        /// A request a peer sent to this process.
        case request
        /// A response this process received.
        case response
    }

    /// A request refused for the value it carries.
    static func refused(_ message: String) -> RPCError {
        RPCError(DistributedImagingError(code: .invalidArgument, message: message))
    }

    static func failure(_ message: String, in direction: Direction) -> RPCError {
        switch direction {
        case .request: return Self.refused(message)
        case .response: return RPCError(code: .internalError, message: "malformed dip.v1 message: \(message)")
        }
    }

    /// A count or index: at least `minimum` (default 0).
    static func count(_ value: Int32, _ field: String, atLeast minimum: Int32 = 0, in direction: Direction) throws(RPCError) -> Int {
        guard value >= minimum else { throw Self.failure("\(field) must be ≥ \(minimum), not \(value)", in: direction) }
        return Int(value)
    }

    /// A duration in seconds: finite and not negative.
    static func seconds(_ value: Double, _ field: String, in direction: Direction) throws(RPCError) -> Double {
        guard value.isFinite, value >= 0 else {
            throw Self.failure("\(field) must be a finite number of seconds ≥ 0, not \(value)", in: direction)
        }
        return value
    }
}

extension Dip_V1_EventSelection {
    init(_ selection: JobEvent.Selection) {
        switch selection {
        case .all: self = .all
        case .failures: self = .failures
        }
    }
}

extension JobEvent.Selection {
    /// A value this side does not know means every event: the selection only ever saves
    /// messages, so sending all of them is always correct.
    init(_ wire: Dip_V1_EventSelection) {
        switch wire {
        case .failures: self = .failures
        case .all, .UNRECOGNIZED: self = .all
        }
    }
}
