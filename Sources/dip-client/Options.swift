import ArgumentParser
import DIPCommandSupport
import DistributedImaging
import DistributedImagingGRPC

/// The server a command talks to: `--server`, `--config` and the security flags.
struct RemoteOptions: ParsableArguments {
    @Option(name: .long, help: "HOST:PORT of the dip-server.")
    var server: String?

    @Option(name: .long, help: "A JSON configuration file; its 'client' section is read (see config.example.json). Flags override it.")
    var config: String?

    @OptionGroup(title: "Security")
    var security: SecurityOptions

    /// The `client` settings with these flags and `flags` over them, the server's address and the
    /// security to reach it with; a bad setting exits 2.
    func resolve(_ flags: [FlagOverride<ClientSettings>] = []) async throws
        -> (address: PeerAddress, security: PeerSecurity, settings: ClientSettings) {
        try await CommandExit.configuring {
            let settings = try DeploymentConfiguration.settings(
                \.client, file: self.config, flags: [FlagOverride(\.server, ifGiven: self.server)] + flags)
            return (try settings.serverAddress(), try self.security.resolve(settings.security, section: "client"), settings)
        }
    }
}

/// How `submit` and `wait` show a job: progress on stderr, a line per task, the summary, the
/// receipt as JSON with `--json`; the job's status decides the exit code (0 succeeded, 1 not).
struct ReportOptions: ParsableArguments {
    /// The formats of `--events`.
    enum EventsFormat: String, ExpressibleByArgument {
        case jsonl
    }

    @Flag(name: .long, help: "Print the job receipt as JSON on stdout; human text goes to stderr.")
    var json = false

    @Option(name: .long, help: "Stream the job's events on stdout: 'jsonl' (one JSON object per line). Excludes --json.")
    var events: EventsFormat?

    @Flag(name: .long, help: "No progress bar or progress lines, and no line per task except failures.")
    var quiet = false

    func validate() throws {
        if self.json && self.events != nil {
            throw ValidationError("--json and --events exclude each other: the last event line already holds the receipt")
        }
    }

    /// The events to ask the server for: with `--quiet` and no `--events`, only those that print
    /// something (the start, failed tasks, the end).
    var eventSelection: JobEvent.Selection { self.quiet && self.events == nil ? .failures : .all }

    /// Where the human lines go: stdout, or stderr when stdout carries JSON.
    var say: @Sendable (String) -> Void {
        let toStandardError = self.json || self.events != nil
        return { line in if toStandardError { Console.error(line) } else { print(line) } }
    }

    /// Follows a job through `body` (which calls back with each event and returns the receipt),
    /// prints it and exits with its code.
    func follow(
        _ body: @escaping @Sendable (_ onEvent: @escaping @Sendable (JobEvent) async -> Void) async throws -> JobReceipt
    ) async throws {
        let (say, quiet) = (self.say, self.quiet)
        let receipt = try await ProgressReporter(quiet: quiet, eventLines: self.events == .jsonl, say: say)
            .run(body) { $0.progressLine(quiet: quiet) }
        receipt.endLines.forEach(say)
        if self.json {
            // The same bytes as <output>/receipt.json (which end in a newline; print adds one).
            print(String(decoding: try JobReceipt.encodeJSON(receipt).dropLast(), as: UTF8.self))
        }
        if receipt.status != .succeeded { throw ExitCode(1) }
    }
}

extension SchedulingPolicy: ExpressibleByArgument {}
extension OutputFormat.Kind: ExpressibleByArgument {}
