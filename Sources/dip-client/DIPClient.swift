import ArgumentParser
import DistributedImaging

@main
struct DIPClient: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dip-client",
        abstract: "Runs image-processing jobs on a DistributedImaging cluster.",
        version: DistributedImagingVersion.current,
        subcommands: [Apply.self]
    )
}
