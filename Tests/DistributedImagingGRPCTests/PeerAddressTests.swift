import DistributedImaging
@testable import DistributedImagingGRPC
import Testing

@Suite("PeerAddress")
struct PeerAddressTests {
    @Test(
        "Parses HOST:PORT",
        arguments: [
            ("127.0.0.1:7000", "127.0.0.1", 7000), ("localhost:1", "localhost", 1), ("[::1]:8080", "::1", 8080),
            (":7000", "0.0.0.0", 7000), ("0.0.0.0:0", "0.0.0.0", 0),
        ])
    func parses(text: String, host: String, port: Int) throws {
        let address = try PeerAddress(parsing: text)
        #expect(address.host == host)
        #expect(address.port == port)
    }

    @Test("Refuses nonsense and names the key", arguments: ["7000", "host:", "host:99999", "::1:80", "[::1]80", "h:p"])
    func refuses(text: String) {
        let error = #expect(throws: DistributedImagingError.self) { try PeerAddress(parsing: text, key: "--listen") }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("--listen") == true)
        #expect(error?.message.contains(text) == true)
    }

    @Test func description() throws {
        #expect(try PeerAddress(parsing: "[::1]:5").description == "[::1]:5")
        #expect(try PeerAddress(parsing: "10.0.0.1:5").description == "10.0.0.1:5")
    }

    @Test("IP literals and wildcards are bound as they are, without a lookup", arguments: ["127.0.0.1:7", "0.0.0.0:7", "[::1]:7", "[::]:7", ":7"])
    func literalsAreNotResolved(text: String) throws {
        let address = try PeerAddress(parsing: text)
        let resolved = try address.resolvedForListening(key: "--listen") { name in
            Issue.record("looked up '\(name)'")
            return .success([])
        }
        #expect(resolved == address)
    }

    @Test("A host name binds its first IPv4 address, else its first IPv6 one")
    func namesAreResolved() throws {
        let address = try PeerAddress(parsing: "myhost:7000")
        let both = try address.resolvedForListening(key: "--listen") { _ in .success(["fe80::1", "10.0.0.5", "10.0.0.6"]) }
        #expect(both == PeerAddress(host: "10.0.0.5", port: 7000))
        let onlyIPv6 = try address.resolvedForListening(key: "--listen") { _ in .success(["fe80::1"]) }
        #expect(onlyIPv6 == PeerAddress(host: "fe80::1", port: 7000))
    }

    @Test("A name that does not resolve is refused in one line naming the key, the name and what to pass instead")
    func unresolvableNameIsRefused() throws {
        let address = try PeerAddress(parsing: "myhost:7000")
        for answer: Result<[String], PeerAddress.ResolutionFailure> in [
            .failure(.init(message: "Name or service not known")), .success([]),
        ] {
            let error = #expect(throws: DistributedImagingError.self) {
                try address.resolvedForListening(key: "server.listen (--listen)") { _ in answer }
            }
            #expect(error?.code == .invalidConfiguration)
            let message = error?.message ?? ""
            #expect(message.contains("server.listen (--listen)") && message.contains("'myhost'") && message.contains("does not resolve"))
            #expect(message.contains("127.0.0.1 or 0.0.0.0"))
            #expect(!message.contains("\n"))
        }
    }

    @Test("localhost resolves, through getaddrinfo, to a loopback IP that the settings and the endpoint bind")
    func localhostBinds() async throws {
        let settings = ServerSettings(listen: "localhost:0", storageRoot: "/tmp")
        let resolved = try settings.listenAddress()
        #expect(resolved.host == "127.0.0.1" || resolved.host == "::1", "\(resolved)")
        #expect(try NodeSettings(name: "n", listen: "localhost:0", storageRoot: "/tmp").listenAddress() == resolved)

        let endpoint = GRPCEndpoint(listen: try PeerAddress(parsing: "localhost:0"), services: [])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await endpoint.run() }
            defer { endpoint.beginGracefulShutdown() }
            let bound = try await endpoint.listeningAddress
            #expect(bound.isLoopback && bound.port != 0, "\(bound)")
            #expect(bound.host != "localhost")
            endpoint.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }
}
