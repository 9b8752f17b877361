import ArgumentParser
import DIPCommandSupport
import DistributedImaging
import DistributedImagingGRPC
import Foundation
import Logging

/// `dip-client submit`: runs a job over a directory of images on a cluster.
struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Process every image of a directory on a cluster.",
        discussion: """
            With --server HOST:PORT, the job runs on a dip-server over gRPC; INPUT_DIR and --output \
            are paths on the shared storage (relative to its root, or absolute inside it). Settings \
            come from the 'client' section of --config, overridden by flags.

            With --embedded, a server and --nodes nodes run in this process. Each image is a task \
            placed on a node chosen at random; an 'optional' node rejects it with probability equal \
            to its load (the server places it again until a node accepts), and every node delays \
            an accepted task by --delay seconds with probability equal to its load. The defaults \
            (4 optional nodes at loads 0.8, 0.6, 0.5, 0.2, 0.5 s delay) make both visible.

            Outputs go to --output (default: '<INPUT_DIR>-out' beside the input) as '<stem>.<ext>'. \
            Output: a line per task and a summary; --json prints the receipt on stdout, --events \
            jsonl every job event; progress goes to stderr (--quiet turns it off). The server \
            keeps '<output>/receipt.json'; submitting again skips images it lists as complete and \
            unchanged (--force redoes them); --only-failed RECEIPT re-runs its failed tasks \
            (Docs/Operations.md has the details).

            Exit codes: 0 the job succeeded; 1 the job failed (a task failed, or the input is \
            missing); 2 usage or configuration error; 3 the server or nodes cannot be reached.
            \(FilterRegistry.standard.helpText)
            """
    )

    @Flag(name: .long, help: "Run the server and nodes in this process.")
    var embedded = false

    @OptionGroup(title: "The server (instead of --embedded)")
    var remote: RemoteOptions

    @Option(name: .long, help: "Number of embedded nodes.")
    var nodes: Int = 4

    @Option(name: .long, help: "Scheduling policy of every node: mandatory or optional.")
    var policy: SchedulingPolicy = .optional

    @Option(
        name: .long,
        help: "Node loads 0...1: one value for every node, or one per node (default 0.8,0.6,0.5,0.2, repeated to --nodes).")
    var load: String?

    @Option(name: .long, help: "Seconds a node waits before an accepted task, with probability equal to its load.")
    var delay: Double = 0.5

    @Option(name: .long, help: "With --embedded: how the server picks the node for each attempt: random (the seed's rule, default), p2c (power of two choices on the nodes' load and queue), least-loaded or untried-first.")
    var placement: String?

    @Option(name: .long, help: "With --embedded: placements tried per task before it fails (default: none, keep searching).")
    var maxAttempts: Int?

    @Option(name: .long, help: "With --embedded: seconds the job may run before tasks still searching for a node fail (default: no limit).")
    var jobTimeout: Double?

    @Option(name: .long, help: "With --embedded: tasks each node runs at once (default 8).")
    var slots: Int?

    @Option(name: .long, help: "With --embedded: the server's bound on tasks in flight (default 64).")
    var maxConcurrentTasks: Int?

    @Option(name: .long, help: "With --embedded: the order tasks are dispatched in: largest-first (decreasing input size, the default) or submission (as listed).")
    var dispatchOrder: String?

    @Option(name: .long, help: "With --embedded: tasks the server keeps on one node, per slot (1...1000, default 2), or 'unbounded' (the seed's dispatch: a node queues whatever placement sends it).")
    var nodeRoom: String?

    @Option(name: .long, help: "Seed for every random choice (placements, rejections, delays): the same seed, the same run.")
    var seed: UInt64?

    @Option(name: .long, help: "The pipeline, e.g. 'grayscale | gaussian(sigma: 2)' (default: edges).")
    var pipeline: String?

    @Option(name: .long, help: "Output directory (default: '<INPUT_DIR>-out' beside the input).")
    var output: String?

    @Option(name: .long, help: "Output format: png or jpeg (default: png).")
    var format: OutputFormat.Kind?

    @Option(name: .long, help: "JPEG quality 1...100 (default: 95).")
    var quality: Int?

    @Flag(name: .long, help: "Descend into sub-directories; outputs keep the sub-paths.")
    var recursive = false

    @Option(
        name: .long,
        help: "The shared storage root (embedded default: the input directory's parent; with --server: none, paths go as given).")
    var storageRoot: String?

    @OptionGroup var report: ReportOptions

    @Flag(name: .long, help: "Process every image, even those the output's receipt.json lists as complete.")
    var force = false

    @Option(name: .long, help: ArgumentHelp("Re-run only the failed tasks of this receipt.json.", valueName: "RECEIPT"))
    var onlyFailed: String?

    @Flag(name: .long, help: "With --embedded: nodes flush each output to disk before renaming it into place, and its directory after (slower; survives power loss).")
    var durableWrites = false

    @Flag(name: .long, help: "With --server: print the job's id (with --json: {\"jobID\": ..., \"status\": \"running\"}) and exit 0 once the server stored the job; it runs on (follow it with 'dip-client wait').")
    var detach = false

    @Option(name: .long, help: "With --embedded: keep the embedded server's jobs in a SQLite store in this directory (outside the storage root; default: in memory).")
    var stateDir: String?

    @Flag(name: .long, help: "Log every placement and rejection on stderr.")
    var verbose = false

    @Option(name: .long, help: "With --server: seconds to wait for the server to answer before giving up (exit 3; default 10); during a job, a server silent for 10 s plus this long is given up on.")
    var timeout: Double = 10

    @Argument(help: ArgumentHelp("The directory of images (.png, .jpg, .jpeg); not with --only-failed.", valueName: "INPUT_DIR"))
    var input: String?

    func validate() throws {
        // Each rule: when it is broken, and what to say.
        let rules: [(broken: Bool, message: String)] = [
            (self.embedded && self.remote.server != nil, "--embedded and --server exclude each other: pass one"),
            (self.embedded && self.remote.config != nil, "--config is read with --server only"),
            (self.durableWrites && !self.embedded, "--durable-writes applies to --embedded nodes; with --server it is the nodes' setting (dip-node --durable-writes)"),
            (self.detach && self.remote.server == nil && self.remote.config == nil, "--detach needs --server: an embedded job ends with this process"),
            (self.detach && self.report.events != nil, "--detach and --events exclude each other: follow the events with 'dip-client wait --events jsonl'"),
            (self.placement != nil && !self.embedded, "--placement applies to --embedded; a dip-server has its own --placement (server.placement)"),
            (!self.embedded && (self.maxAttempts != nil || self.slots != nil || self.maxConcurrentTasks != nil || self.jobTimeout != nil || self.dispatchOrder != nil || self.nodeRoom != nil),
             "--max-attempts, --job-timeout, --slots, --max-concurrent-tasks, --dispatch-order and --node-room apply to --embedded; a dip-server and its nodes have their own settings"),
            (self.stateDir != nil && !self.embedded, "--state-dir applies to --embedded; a dip-server has its own --state-dir"),
            (self.input == nil && self.onlyFailed == nil, "missing INPUT_DIR (or --only-failed RECEIPT)"),
            (self.input != nil && self.onlyFailed != nil, "INPUT_DIR and --only-failed exclude each other"),
            (!self.embedded && !(self.timeout.isFinite && self.timeout > 0 && self.timeout <= 86_400), "--timeout must be 0 < seconds <= 86400, not \(self.timeout)"),
        ]
        if let rule = rules.first(where: \.broken) { throw ValidationError(rule.message) }
    }

    func run() async throws {
        try await self.embedded ? self.runEmbedded() : self.runRemote()
    }

    /// `--server`: the job runs on a dip-server over gRPC.
    func runRemote() async throws {
        let (address, security, settings) = try await self.remote.resolve([
            FlagOverride(\.storageRoot, ifGiven: self.storageRoot), FlagOverride(\.pipeline, self.pipeline),
            FlagOverride(\.format, self.format), FlagOverride(\.quality, self.quality),
        ])
        let request = try await CommandExit.configuring {
            try self.rerunRequest()?.request
                ?? settings.jobRequest(input: self.input ?? "", output: self.output, recursive: self.recursive, force: self.force)
        }
        if !self.detach { self.report.say("server: \(address)") }
        let timeout = Duration.milliseconds(Int64(self.timeout * 1000))
        try await GRPCJobSubmitter.withSubmitter(
            server: address, security: security, timeout: timeout, events: self.report.eventSelection
        ) { submitter in
            try await submitter.checkReachable(timeout: timeout)
            guard self.detach else {
                return try await self.report.follow { try await submitter.submit(request, onEvent: $0) }
            }
            let id = try await submitter.start(request)
            print(self.report.json ? "{\"jobID\": \"\(id)\", \"status\": \"running\"}" : id.rawValue)
        }
    }

    /// `--embedded`: a server and nodes in this process.
    func runEmbedded() async throws {
        let logger = try Console.logger(label: "dip-client", level: self.verbose ? "debug" : "warning")
        var store: SQLiteJobStore?
        if let stateDir = self.stateDir {
            let directory = SharedStorage.absolutePath(stateDir)
            store = try await CommandExit.configuring { try await SQLiteJobStore.open(stateDirectory: directory, logger: logger) }
        }
        do {
            let (cluster, request) = try await CommandExit.configuring { try self.embeddedJob(store: store, logger: logger) }
            try await self.report.follow { try await cluster.submit(request, onEvent: $0) }
        } catch {
            try? await store?.close()
            throw error
        }
        try? await store?.close()
    }

    /// The embedded cluster and the job to run on it.
    func embeddedJob(store: SQLiteJobStore?, logger: Logger) throws -> (LocalCluster, JobRequest) {
        let options = try FlagOverride.apply([
            FlagOverride(\.nodes, self.nodes), FlagOverride(\.policy, self.policy), FlagOverride(\.loads, ifGiven: self.load),
            FlagOverride(\.delay, self.delay), FlagOverride(\.slots, self.slots), FlagOverride(\.durableWrites, self.durableWrites),
            FlagOverride(\.placement, self.placement), FlagOverride(\.maxAttempts, ifGiven: self.maxAttempts),
            FlagOverride(\.maxConcurrentTasks, self.maxConcurrentTasks), FlagOverride(\.jobTimeout, ifGiven: self.jobTimeout),
            FlagOverride(\.dispatchOrder, self.dispatchOrder), FlagOverride(\.nodeRoom, self.nodeRoom),
            FlagOverride(\.seed, ifGiven: self.seed),
        ], to: LocalCluster.Options())
        let rerun = try self.rerunRequest()
        let input = SharedStorage.absolutePath(rerun.map { $0.storageRoot + "/" + $0.request.inputDirectory } ?? self.input ?? "")
        let root = self.storageRoot.map(SharedStorage.absolutePath) ?? rerun?.storageRoot ?? URL(fileURLWithPath: input).deletingLastPathComponent().path
        let cluster = try LocalCluster(storageRoot: root, options: options, store: store ?? InMemoryJobStore(), logger: logger)
        let format = OutputFormat(kind: self.format ?? .png, quality: self.quality ?? 95)
        try format.validate()
        let request = rerun?.absoluteRequest ?? JobRequest(
            inputDirectory: input, outputDirectory: self.output.map(SharedStorage.absolutePath),
            pipeline: self.pipeline ?? JobRequest.defaultPipeline, outputFormat: format, recursive: self.recursive, force: self.force)
        self.report.say("cluster: \(options.summary)")
        return (cluster, request)
    }
}
