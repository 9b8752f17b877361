import ArgumentParser
import DIPCommandSupport
import DistributedImaging
import DistributedImagingGRPC

/// `dip-client status`: the nodes and running jobs of a dip-server.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a dip-server's nodes and running jobs.",
        discussion: """
            Lists every node the server places tasks on — name, policy, load, health, tasks in \
            flight, done, failed and rejected (this server's placements since it started) — and \
            every running job with its progress. A node is listed while it is configured or its \
            registration is fresh, and while it has tasks in flight; HEALTH is 'alive', or 'suspect' \
            while the server skips the node: it missed its last health check, its registration \
            lapsed, or a call to it failed as unreachable less than a heartbeat interval ago. With --json, the status as JSON on stdout. \
            The security flags are submit's: the shared token by --auth-token-file, DIP_AUTH_TOKEN \
            or the config's client.security.authTokenFile; TLS by --tls-trust-roots or \
            client.security.tlsTrustRoots. \
            Exit codes: 0 shown; 2 usage error; 3 the server cannot be reached or refused the token.
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
