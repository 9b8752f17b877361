import ArgumentParser
import DIPCommandSupport
import DistributedImaging
import DistributedImagingGRPC
import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `dip-node`: runs the tasks a server places on it, over gRPC.
@main
struct DIPNode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dip-node",
        abstract: "Run DistributedImaging tasks: decode, filter and write images on shared storage.",
        discussion: """
            The node serves dip.v1.NodeService on --listen. With --server it registers there (and \
            re-registers every few seconds); without, the server must list it in server.nodes. \
            Task paths are relative to the storage root and resolved under --storage-root; paths \
            outside it are refused. Policy 'mandatory' accepts every task; 'optional' rejects one \
            with probability --load. Either way an accepted task waits --delay seconds with \
            probability --load first; --load auto uses the node's measured occupancy instead. \
            SIGHUP re-reads --config and applies its node.load (a bad file keeps the old load and \
            logs an error). SIGINT or SIGTERM deregisters, finishes tasks in flight, then exits. \
            Exit codes: 0 after a clean shutdown, 2 for a usage or configuration error (a server \
            speaking another protocol version included), 1 otherwise.
            """,
        version: WireProtocol.versionDescription
    )

    /// Parses and runs, mapping argument-parser's usage errors (its code 64) to our 2.
    static func main() async {
        await Self.mainWithUsageExitCode()
    }

    @Option(name: .long, help: "A JSON configuration file; its 'node' section is read (see config.example.json). Flags override it.")
    var config: String?

    @Option(name: .long, help: "The node's name, unique in the cluster (required).")
    var name: String?

    @Option(name: .long, help: "HOST:PORT to listen on (default 0.0.0.0:7100; port 0 picks a free port).")
    var listen: String?

    @Option(name: .long, help: "HOST:PORT for the Prometheus endpoint GET /metrics (default: none).")
    var metricsListen: String?

    @Option(name: .long, help: "HOST:PORT the server should call, when --listen is a wildcard or behind NAT (port 0: the bound port).")
    var advertise: String?

    @Option(name: .long, help: "HOST:PORT of the dip-server to register with (default: do not register).")
    var server: String?

    @Option(name: .long, help: "The node's mount of the shared storage (required).")
    var storageRoot: String?

    @Option(name: .long, help: "Scheduling policy: mandatory (accept every task) or optional (reject with probability --load).")
    var policy: String?

    @Option(name: .long, help: "Simulated load 0...1, or 'auto' for the node's measured occupancy (default 0).")
    var load: String?

    @Option(name: .long, help: "Seconds an accepted task waits first, with probability --load (default 3).")
    var delay: Double?

    @Option(name: .long, help: "Accepted tasks run at once (default 8); beyond it accepted tasks queue, under either policy.")
    var maxConcurrent: Int?

    @Option(name: .long, help: "Seed for the node's random choices (default: from the system).")
    var seed: UInt64?

    @Option(name: .long, help: "Largest image a task may decode, in pixels (default 100000000).")
    var maxPixels: Int?

    @Option(name: .long, help: "Largest input file, in bytes (default 536870912).")
    var maxFileBytes: Int?

    @Option(name: .long, help: "Calls one client connection may have open at once (default 256); announced as HTTP/2 MAX_CONCURRENT_STREAMS, so a busier client waits.")
    var maxConcurrentStreams: Int?
    @Option(name: .long, help: "HOST:PORT for the task port, which carries tasks without HTTP/2 (default: the --listen host, a free port), or 'off'. Opened only without TLS and token.")
    var taskListen: String?
    @Flag(name: .long, help: "Flush each output to disk before renaming it into place, and its directory after (slower; survives power loss).")
    var durableWrites = false
    @Flag(inversion: .prefixedNo, help: "Share the machine's cores with the other dip-node processes of this user there: at most one image per core at once between them (default: share).")
    var shareCores: Bool?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @OptionGroup(title: "Security")
    var security: SecurityOptions

    func run() async throws {
        let logger: Logger
        let node: ImagingNode
        let host: GRPCNodeHost
        let registry = PrometheusCollectorRegistry()
        var endpoint: MetricsEndpoint?
        do {
            let settings = try DeploymentConfiguration.settings(\.node, file: self.config, flags: [
                FlagOverride(\.name, ifGiven: self.name), FlagOverride(\.listen, self.listen),
                FlagOverride(\.metricsListen, ifGiven: self.metricsListen), FlagOverride(\.advertise, ifGiven: self.advertise),
                FlagOverride(\.server, ifGiven: self.server), FlagOverride(\.storageRoot, ifGiven: self.storageRoot),
                FlagOverride(self.policy) { try $0.setPolicy($1, key: "--policy") }, FlagOverride(self.load) { try $0.setLoad($1, key: "--load") },
                FlagOverride(\.delay, self.delay), FlagOverride(\.maxConcurrentTasks, self.maxConcurrent),
                FlagOverride(\.seed, ifGiven: self.seed), FlagOverride(\.maxPixels, self.maxPixels),
                FlagOverride(\.maxFileBytes, self.maxFileBytes), FlagOverride(\.maxConcurrentStreams, self.maxConcurrentStreams),
                FlagOverride(\.taskListen, ifGiven: self.taskListen),
                FlagOverride(\.durableWrites, self.durableWrites ? true : nil),
                FlagOverride(\.shareCores, self.shareCores),
            ])
            logger = try Console.logger(label: "dip-node", level: self.logLevel)
            let configuration = try settings.nodeConfiguration()
            let storage = try settings.storage()
            node = try ImagingNode(
                configuration: configuration, storage: storage, codec: try settings.codec(),
                computeGate: settings.computeGate(logger: logger), logger: logger)
            host = try GRPCNodeHost(
                settings: settings, executor: MeteredTaskExecutor(node, factory: PrometheusMetricsFactory(registry: registry)),
                activeTasks: { node.activeTasks }, state: { node.advertisedState },
                security: try self.security.resolve(settings.security, section: "node"), logger: logger,
                onListening: { address in
                    Console.announce("dip-node '\(configuration.name)' listening on \(address) (storage root \(storage.root))")
                })
            endpoint = try settings.metricsAddress().map { address in
                MetricsEndpoint(
                    listen: address, registry: registry,
                    onListening: { Console.announce("dip-node '\(configuration.name)' metrics on http://\($0)/metrics") })
            }
        } catch let error as DistributedImagingError {
            throw CommandExit.ConfigurationError(error)
        }
        // Trapped before anything listens, so a SIGHUP never finds the default action (exit).
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let reloader = LoadReloader(path: self.config, loadFlag: self.load, node: node, hangups: hangups, logger: logger)
        do {
            try await ServiceGroup(
                services: (endpoint.map { [$0] } ?? []) + [reloader] + host.services(around: node), gracefulShutdownSignals: [.sigterm, .sigint], logger: logger
            ).run()
        } catch {
            throw CommandExit.serviceFailure("dip-node", error)
        }
    }
}

/// Re-reads the configuration file on each SIGHUP and applies its `node.load` to the running
/// node (`--load`, when given, still overrides it). Other keys need a restart. A file that cannot
/// be read or holds a bad value changes nothing: the node keeps its load and logs an error naming
/// the file and the key.
struct LoadReloader: Service {
    let path: String?
    let loadFlag: String?
    let node: ImagingNode
    let hangups: UnixSignalsSequence
    let logger: Logger

    func run() async throws {
        for await _ in self.hangups.cancelOnGracefulShutdown() {
            self.reload()
        }
    }

    func reload() {
        guard let path = self.path else {
            self.logger.warning(
                "SIGHUP: no configuration file (--config) to re-read; load unchanged",
                metadata: ["dip.node.load": "\(self.node.load)"])
            return
        }
        do {
            var settings = try DeploymentConfiguration.load(path: path).node
            if let flag = self.loadFlag { try settings.setLoad(flag, key: "--load") }
            let load = settings.nodeLoad
            do {
                try load.validate(key: "node.load")
            } catch let error as DistributedImagingError {
                throw DistributedImagingError(code: error.code, message: "\(path): \(error.message)")
            }
            let previous = self.node.load
            try self.node.setLoad(load)
            self.logger.info(
                "SIGHUP: configuration re-read; load \(load)",
                metadata: [
                    "dip.node.load": "\(load)", "dip.node.previousLoad": "\(previous)", "dip.config.path": "\(path)",
                    "dip.node.loadOverriddenByFlag": "\(self.loadFlag != nil)",
                ])
        } catch {
            self.logger.error(
                "SIGHUP: configuration not applied, keeping load \(self.node.load): \(DistributedImagingError.message(of: error))",
                metadata: ["dip.config.path": "\(path)"])
        }
    }
}
