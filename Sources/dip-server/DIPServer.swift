import ArgumentParser
import DIPCommandSupport
import DistributedImaging
import DistributedImagingGRPC
import Foundation
import Logging
import Prometheus
import ServiceLifecycle

/// `dip-server`: places the tasks of clients' jobs on nodes, over gRPC.
@main
struct DIPServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dip-server",
        abstract: "Serve DistributedImaging jobs: split each into tasks and place them on nodes.",
        discussion: """
            Clients call dip.v1.JobService on --listen; nodes either register themselves \
            (dip-node --server) or are listed in the configuration file's server.nodes. Every path \
            a client sends is resolved under --storage-root, which every node mounts too; paths \
            outside it are refused. Jobs are kept in a SQLite store in --state-dir (local to this \
            server, locked by it): a job survives a restart and resumes, and ended jobs are kept \
            for --job-retention. SIGINT or SIGTERM stops accepting jobs, lets jobs in flight \
            finish for the grace period (those still running then resume on the next start), then \
            exits. Exit codes: 0 after a clean shutdown, 2 for a usage or configuration error (an \
            unreadable state database or a state directory another server holds included), 1 \
            otherwise.
            """,
        version: WireProtocol.versionDescription
    )

    /// Parses and runs, mapping argument-parser's usage errors (its code 64) to our 2.
    static func main() async {
        await Self.mainWithUsageExitCode()
    }

    @Option(name: .long, help: "A JSON configuration file; its 'server' section is read (see config.example.json). Flags override it.")
    var config: String?

    @Option(name: .long, help: "HOST:PORT to listen on (default 0.0.0.0:7000; port 0 picks a free port).")
    var listen: String?

    @Option(name: .long, help: "HOST:PORT for the Prometheus endpoint GET /metrics (default: none).")
    var metricsListen: String?

    @Option(name: .long, help: "The server's mount of the shared storage; every job path lies under it (required).")
    var storageRoot: String?

    @Option(name: .long, help: "Seconds between node heartbeats (default 5); a node silent for 3 is not placed on, and a node that stopped answering is skipped this long.")
    var heartbeatInterval: Double?

    @Option(name: .long, help: "Seconds a node may spend on one task once it holds a slot, injected delay included, queue wait not (default 600; 0 for no limit); past it the task fails with the reason.")
    var taskTimeout: Double?

    @Option(name: .long, help: "Images one job may hold (default 100000); larger jobs are refused before any task runs.")
    var maxImages: Int?

    @Option(name: .long, help: "Seconds running jobs may continue after SIGTERM/SIGINT (default 30); jobs still running then stay in the state directory and resume on the next start.")
    var shutdownGracePeriod: Double?

    @Option(name: .long, help: "Where the server keeps its job store and lock, on a local disk, never on the shared storage (default $XDG_STATE_HOME/dip-server or ~/.local/state/dip-server).")
    var stateDir: String?

    @Option(name: .long, help: "Seconds an ended job stays in the job store before it is pruned (default 604800, 7 days).")
    var jobRetention: Double?

    @Option(name: .long, help: "Calls one client connection may have open at once (default 256); announced as HTTP/2 MAX_CONCURRENT_STREAMS, so a busier client waits.")
    var maxConcurrentStreams: Int?

    @Option(name: .long, help: "How to pick the node for each attempt: random (the seed's rule, default), p2c (power of two choices on advertised load and queue), least-loaded or untried-first. Nodes advertise their state in registrations, heartbeats and health checks.")
    var placement: String?

    @Option(name: .long, help: "Placements tried per task before it fails (default: none, keep searching until a node accepts, the job is cancelled or --job-timeout passes).")
    var maxAttempts: Int?

    @Option(name: .long, help: "Seconds a job may run before its tasks still searching for a node fail (default: no limit).")
    var jobTimeout: Double?

    @Option(name: .long, help: "The order a job's tasks are dispatched in: largest-first (decreasing input size, the default) or submission (as listed).")
    var dispatchOrder: String?

    @Option(name: .long, help: "Tasks the server keeps on one node at once, per slot of the node (1...1000, default 2: its slots and a queue as long), or 'unbounded': the seed's dispatch, where a node queues whatever placement sends it.")
    var nodeRoom: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @OptionGroup(title: "Security")
    var security: SecurityOptions

    func run() async throws {
        let logger: Logger
        let host: GRPCServerHost
        let store: SQLiteJobStore
        let registry = PrometheusCollectorRegistry()
        var endpoint: MetricsEndpoint?
        do {
            let settings = try DeploymentConfiguration.settings(\.server, file: self.config, flags: [
                FlagOverride(\.listen, self.listen), FlagOverride(\.metricsListen, ifGiven: self.metricsListen),
                FlagOverride(\.storageRoot, ifGiven: self.storageRoot), FlagOverride(\.heartbeatInterval, self.heartbeatInterval),
                FlagOverride(\.taskTimeout, ifGiven: self.taskTimeout), FlagOverride(\.maxImagesPerJob, self.maxImages),
                FlagOverride(\.shutdownGracePeriod, self.shutdownGracePeriod),
                FlagOverride(\.maxConcurrentStreams, self.maxConcurrentStreams), FlagOverride(\.stateDirectory, ifGiven: self.stateDir),
                FlagOverride(\.jobRetention, self.jobRetention), FlagOverride(\.placement, self.placement),
                FlagOverride(\.maxAttempts, ifGiven: self.maxAttempts), FlagOverride(\.jobTimeout, ifGiven: self.jobTimeout),
                FlagOverride(\.dispatchOrder, self.dispatchOrder),
                FlagOverride(self.nodeRoom) { settings, text in settings.nodeRoom = try NodeRoom(parsing: text) },
            ])
            logger = try Console.logger(label: "dip-server", level: self.logLevel)
            let root = settings.storageRoot ?? ""
            let security = try self.security.resolve(settings.security, section: "server")
            try settings.validate()
            let stateDirectory = try settings.resolvedStateDirectory(environment: ProcessInfo.processInfo.environment)
            store = try await SQLiteJobStore.open(stateDirectory: stateDirectory, logger: logger)
            host = try GRPCServerHost(settings: settings, security: security, store: store, durable: true, logger: logger) {
                address in
                Console.announce("dip-server listening on \(address) (storage root \(root))")
            }
            let jobMetrics = JobMetrics(factory: PrometheusMetricsFactory(registry: registry))
            host.observers.add(jobMetrics)
            endpoint = try settings.metricsAddress().map { [host] address in
                MetricsEndpoint(
                    listen: address, registry: registry,
                    beforeScrape: { jobMetrics.recordNodesAlive(host.membership.advertisements().count) },
                    onListening: { Console.announce("dip-server metrics on http://\($0)/metrics") })
            }
        } catch let error as DistributedImagingError {
            throw CommandExit.ConfigurationError(error)
        }
        for warning in host.warnings { logger.warning("\(warning)") }
        for problem in await host.checkStaticNodes() { logger.warning("\(problem)") }
        do {
            // Before listening: every job a previous server left running goes on.
            try await host.server.resumeJobs()
            try await ServiceGroup(
                services: (endpoint.map { [$0] } ?? []) + host.services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger
            ).run()
        } catch {
            try? await store.close()
            throw CommandExit.serviceFailure("dip-server", error)
        }
        try? await store.close()
    }
}
