import ArgumentParser
import DIPCommandSupport
import DistributedImaging
import DistributedImagingGRPC
import Foundation

/// How `submit` and `wait` show a job: progress on stderr, a line per task, the summary, the
/// receipt as JSON with `--json`; the job's status decides the exit code (0 succeeded, 1 not).
struct JobReport {
    var quiet: Bool
    var json: Bool
    var events: Submit.EventsFormat?
    var say: @Sendable (String) -> Void

    /// Follows a job through `body` (which calls back with each event and returns the receipt),
    /// prints it and exits with its code.
    func follow(
        _ body: @escaping @Sendable (_ onEvent: @escaping @Sendable (JobEvent) async -> Void) async throws -> JobReceipt
    ) async throws {
        let say = self.say
        let quiet = self.quiet
        let reporter = ProgressReporter(quiet: self.quiet, eventLines: self.events == .jsonl, say: say)
        let receipt: JobReceipt
        do {
            receipt = try await reporter.run(body) { event in
                switch event {
                case .completed(let task) where task.status == .failed: return "  \(event)"
                case .rejected, .completed: return quiet ? nil : "  \(event)"
                case .started, .placed, .finished, .snapshot: return nil
                }
            }
        } catch let error as DistributedImagingError {
            throw CLIError(error).report()
        }

        for line in receipt.skippedLines() { say("  \(line)") }
        // Entries the server could not list (never placed, so no event printed them).
        for task in receipt.tasks where task.status == .failed && task.attempts == 0 {
            say("  failed \(task.input): \(task.error ?? "")")
        }
        let counts = receipt.counts
        say(
            "\(receipt.status): \(counts.succeeded) succeeded, \(counts.failed) failed, \(counts.skipped) skipped; "
                + "\(counts.rejections) rejections, \(counts.delayed) delayed; \(String(format: "%.3f", receipt.elapsed)) s")
        if let timing = receipt.timingLine { say(timing) }
        if receipt.status != .succeeded || counts.total == 0 { say(receipt.message) }
        if self.json {
            // The same bytes as <output>/receipt.json (which end in a newline; print adds one).
            print(String(decoding: try JobReceipt.encodeJSON(receipt).dropLast(), as: UTF8.self))
        }
        if receipt.status != .succeeded { throw ExitCode(1) }
    }
}

/// The server a command talks to: `--server`, `--config` and the security flags.
struct RemoteOptions: ParsableArguments {
    @Option(name: .long, help: "HOST:PORT of the dip-server.")
    var server: String?

    @Option(name: .long, help: "A JSON configuration file; its 'client' section is read. Flags override it.")
    var config: String?

    @OptionGroup(title: "Security")
    var security: SecurityOptions

    /// The server's address and the security to reach it with; a bad setting exits 2.
    func resolve() throws -> (address: PeerAddress, security: PeerSecurity) {
        do {
            var settings = try self.config.map(DeploymentConfiguration.load(path:))?.client ?? ClientSettings()
            if let server = self.server { settings.server = server }
            guard settings.server != nil else {
                throw DistributedImagingError(code: .invalidConfiguration, message: "no server: pass --server HOST:PORT")
            }
            return (try settings.serverAddress(), try self.security.resolve(settings.security, section: "client"))
        } catch let error as DistributedImagingError {
            throw CLIError(error).report()
        }
    }
}
