import ArgumentParser
import DIPCommandSupport
import DistributedImaging
import DistributedImagingGRPC

/// `dip-client status`: the nodes and running jobs of a dip-server.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a dip-server's nodes and running jobs.",
        discussion: """
            Lists every node the server places tasks on — name, address, policy, load ('auto' when \
            measured), busy slots, queued tasks, HEALTH ('alive', or 'suspect' while the server \
            skips it after a missed health check, a lapsed registration or a failed call), and \
            this server's tasks in flight, done, failed and rejected on it — and every running job \
            with its progress. With --json, the status as JSON on stdout. Exit codes: 0 shown; 2 \
            usage error; 3 the server cannot be reached or refused the token.
            """
    )

    @OptionGroup var remote: RemoteOptions

    @Flag(name: .long, help: "Print the status as JSON on stdout.")
    var json = false

    func run() async throws {
        let (address, security, _) = try await self.remote.resolve()
        let status = try await HealthClient.status(of: address, security: security)
        try Console.show(status, json: self.json) { "server: \(address)\n" + status.table }
    }
}
