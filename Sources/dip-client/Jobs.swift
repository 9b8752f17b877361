import ArgumentParser
import DIPCommandSupport
import DistributedImaging
import DistributedImagingGRPC

/// `dip-client wait`: attaches to a job by id and follows it to its end.
struct Wait: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow a job by id until it ends, as submit would have.",
        discussion: """
            Shows the job's progress from its current counts, then the same lines, receipt and \
            exit code as submit: 0 the job succeeded, 1 it failed or was cancelled, 2 usage error \
            or unknown job id, 3 the server cannot be reached, or --timeout passed before the job \
            ended. If the server goes away (a restart), wait reconnects with backoff until the job \
            ends or --timeout passes. Ctrl-C only detaches: the job runs on.
            """
    )

    @OptionGroup var remote: RemoteOptions

    @OptionGroup var report: ReportOptions

    @Option(name: .long, help: "Seconds to wait for the job to end (default: no limit; exit 3 when passed).")
    var timeout: Double?

    @Argument(help: ArgumentHelp("The job's id (printed by submit --detach, listed by jobs).", valueName: "JOB_ID"))
    var jobID: String

    func validate() throws {
        if let timeout = self.timeout, !(timeout.isFinite && timeout > 0 && timeout <= 31_536_000) {
            throw ValidationError("--timeout must be 0 < seconds <= 31536000, not \(timeout)")
        }
    }

    func run() async throws {
        let (address, security, _) = try await self.remote.resolve()
        let id = JobID(self.jobID)
        Console.onInterrupt {
            Console.error("\ndip-client: detached from job \(id); it keeps running (dip-client cancel \(id) stops it)")
        }
        let deadline = self.timeout.map { ContinuousClock.now + .milliseconds(Int64($0 * 1000)) }
        let events = self.report.eventSelection
        try await self.report.follow { onEvent in
            try await GRPCJobSubmitter.follow(
                id, server: address, security: security, until: deadline, events: events, onEvent: onEvent
            ) {
                Console.error("dip-client: \($0.message); reconnecting until job \(id) ends")
            }
        }
    }
}

/// `dip-client jobs`: the jobs a server keeps.
struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a dip-server's jobs, newest first.",
        discussion: """
            One line per job: id, status (running, succeeded, failed, cancelled), tasks done, \
            failed and total, input, when it started and how long it ran. With --json, a JSON \
            array of job records (jobID, status, request, input, output, pipeline, tasks, skipped, \
            succeeded, failed, submitted and ended in seconds since 1970, message, elapsed). \
            Exit codes: 0 listed; 2 usage error; 3 the server cannot be reached.
            """
    )

    @OptionGroup var remote: RemoteOptions

    @Flag(name: .long, help: "Print the jobs as a JSON array on stdout.")
    var json = false

    func run() async throws {
        let (address, security, _) = try await self.remote.resolve()
        let jobs = try await GRPCJobSubmitter.withSubmitter(server: address, security: security) { try await $0.jobs() }
        try Console.show(jobs, json: self.json) { JobRecord.table(jobs).joined(separator: "\n") }
    }
}

/// `dip-client cancel`: cancels a running job.
struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cancel a running job by id.",
        discussion: """
            No task of the job is placed any more and its running tasks are cancelled on their \
            nodes; the job ends 'cancelled' (dip-client wait shows the receipt). Exit codes: 0 \
            cancelled; 2 usage error, unknown job id or a job that already ended; 3 the server \
            cannot be reached.
            """
    )

    @OptionGroup var remote: RemoteOptions

    @Argument(help: ArgumentHelp("The job's id.", valueName: "JOB_ID"))
    var jobID: String

    func run() async throws {
        let (address, security, _) = try await self.remote.resolve()
        let record = try await GRPCJobSubmitter.withSubmitter(server: address, security: security) {
            try await $0.cancel(JobID(self.jobID))
        }
        print("cancelling job \(record.id): \(record.succeeded + record.failed) of \(record.tasks) tasks had ended")
    }
}
