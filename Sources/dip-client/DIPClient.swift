import ArgumentParser
import DIPCommandSupport
import DistributedImaging

@main
struct DIPClient: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dip-client",
        abstract: "Runs image-processing jobs on a DistributedImaging cluster.",
        discussion: "Exit codes: 0 success; 1 the job failed; 2 usage or configuration error; 3 cannot reach the cluster (or wait --timeout passed).",
        version: DistributedImagingVersion.current,
        subcommands: [Apply.self, Submit.self, Wait.self, Jobs.self, Cancel.self, Status.self]
    )

    /// Parses and runs, mapping argument-parser's usage errors (its code 64) to our 2.
    static func main() async {
        await Self.mainWithUsageExitCode()
    }
}
