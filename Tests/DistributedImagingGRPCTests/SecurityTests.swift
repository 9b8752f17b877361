import DistributedImaging
import DistributedImagingGRPC
import Foundation
import Testing

/// The shared token and TLS, with the real executables on 127.0.0.1.
@Suite("Authentication and TLS (real executables)", .serialized, .timeLimit(.minutes(2)))
struct SecurityTests {
    static let pipeline = "invert"

    @Test("A missing or wrong token is refused (exit 3, UNAUTHENTICATED); the right one, by file or environment, works")
    func token() async throws {
        try await withFaultCluster { cluster in
            let tokenFile = cluster.logs.appendingPathComponent("token")
            try "correct-horse-battery-staple\n".write(to: tokenFile, atomically: true, encoding: .utf8)
            let wrongFile = cluster.logs.appendingPathComponent("wrong")
            try "not-the-token".write(to: wrongFile, atomically: true, encoding: .utf8)
            cluster.security = PeerSecurity(authToken: "correct-horse-battery-staple")
            let server = try await cluster.startServer(["--auth-token-file", tokenFile.path])
            try await cluster.startNode("node-1", ["--load", "0"], environment: ["DIP_AUTH_TOKEN": "correct-horse-battery-staple"])
            try await cluster.waitForNodes(1)
            _ = try cluster.makeImages(3, in: "in")

            // A node with the wrong token cannot register, and says why.
            let intruder = try await cluster.startNode("intruder", ["--auth-token-file", wrongFile.path], waitForListening: false)
            #expect(try await intruder.waitForExit(timeout: .seconds(15)) == 2)
            #expect(intruder.errors.contains("token"), "\(intruder.errors)")
            #expect(try await HealthClient.status(of: server, security: cluster.security).nodes.count == 1)
            // Health without the token is refused too, as unauthenticated (not any error).
            let refused = await #expect(throws: DistributedImagingError.self) { try await HealthClient.status(of: server) }
            #expect(refused?.code == .unauthenticated, "\(String(describing: refused))")

            let missing = try cluster.startClient(["submit", "--server", "\(server)", "in"], name: "client-missing")
            #expect(try await missing.waitForExit() == 3)
            #expect(missing.errors.contains("authorization token"), "\(missing.errors)")
            let wrong = try cluster.startClient(
                ["submit", "--server", "\(server)", "--auth-token-file", wrongFile.path, "in"], name: "client-wrong")
            #expect(try await wrong.waitForExit() == 3)
            #expect(wrong.errors.contains("wrong authorization token"), "\(wrong.errors)")
            // The flag wins over a wrong environment variable.
            let right = try cluster.startClient(
                ["submit", "--server", "\(server)", "--auth-token-file", tokenFile.path, "--pipeline", Self.pipeline,
                 "--output", "out", "in"],
                name: "client-right", environment: ["DIP_AUTH_TOKEN": "not-the-token"])
            #expect(try await right.waitForExit() == 0, "\(right.errors)")
            let serverProcess = try #require(cluster.server)
            #expect(!serverProcess.errors.contains("correct-horse"), "the server logged the secret")
            #expect(serverProcess.errors.contains("refused a call"), "\(serverProcess.errors)")
        }
    }

    /// Where openssl is, if it is installed (scripts/install-dependencies.sh installs it).
    static let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl", "/bin/openssl"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Makes a self-signed certificate for 127.0.0.1 and localhost; returns (certificate, key).
    static func makeCertificate(in directory: URL, name: String) throws -> (certificate: String, key: String) {
        let openssl = try #require(Self.openssl)
        let certificate = directory.appendingPathComponent("\(name)-cert.pem").path
        let key = directory.appendingPathComponent("\(name)-key.pem").path
        let make = Process()
        make.executableURL = URL(fileURLWithPath: openssl)
        make.arguments = [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", certificate,
        ]
        make.standardOutput = FileHandle.nullDevice
        make.standardError = FileHandle.nullDevice
        try make.run()
        make.waitUntilExit()
        try #require(make.terminationStatus == 0, "openssl failed")
        return (certificate, key)
    }

    @Test(
        "TLS with a certificate made for the test: a job runs; a plaintext client is turned away",
        .enabled(if: SecurityTests.openssl != nil, "openssl is not installed (scripts/install-dependencies.sh installs it)"))
    func tls() async throws {
        try await withFaultCluster { cluster in
            let (certificate, key) = try Self.makeCertificate(in: cluster.logs, name: "server")
            let tls = ["--tls-certificate", certificate, "--tls-key", key, "--tls-trust-roots", certificate]
            cluster.security = PeerSecurity(tls: .init(trustRoots: certificate))
            let server = try await cluster.startServer(tls)
            try await cluster.startNode("node-1", ["--load", "0"] + tls)
            try await cluster.waitForNodes(1)
            _ = try cluster.makeImages(3, in: "in")
            let client = try cluster.startClient(
                ["submit", "--server", "\(server)", "--tls-trust-roots", certificate, "--pipeline", Self.pipeline,
                 "--output", "out", "in"],
                name: "client-tls")
            #expect(try await client.waitForExit() == 0, "\(client.errors)")
            let plaintext = try cluster.startClient(
                ["submit", "--server", "\(server)", "--timeout", "3", "in"], name: "client-plaintext")
            #expect(try await plaintext.waitForExit() == 3, "\(plaintext.errors)")

            // A client trusting another certificate refuses the server's: exit 3, says why.
            let (other, _) = try Self.makeCertificate(in: cluster.logs, name: "other")
            let untrusted = try cluster.startClient(
                ["submit", "--server", "\(server)", "--timeout", "5", "--tls-trust-roots", other, "--output", "out-2", "in"],
                name: "client-untrusted")
            #expect(try await untrusted.waitForExit() == 3, "\(untrusted.errors)")
            #expect(untrusted.errors.contains("cannot reach dip-server"), "\(untrusted.errors)")
            withKnownIssue("the client reports a closed connection, not the refused certificate") {
                #expect(untrusted.errors.lowercased().contains("certificate"), "\(untrusted.errors)")
            }
            #expect(!FileManager.default.fileExists(atPath: cluster.root.appendingPathComponent("out-2").path), "no job ran")
        }
    }

    @Test("dip-client status takes the token by flag, DIP_AUTH_TOKEN or client.security; without it, exit 3 naming the flag")
    func statusWithToken() async throws {
        try await withFaultCluster { cluster in
            let tokenFile = cluster.logs.appendingPathComponent("token")
            try "correct-horse-battery-staple\n".write(to: tokenFile, atomically: true, encoding: .utf8)
            cluster.security = PeerSecurity(authToken: "correct-horse-battery-staple")
            let server = try await cluster.startServer(["--auth-token-file", tokenFile.path])
            try await cluster.startNode("node-1", ["--load", "0"], environment: ["DIP_AUTH_TOKEN": "correct-horse-battery-staple"])
            try await cluster.waitForNodes(1)

            // Without the token: refused, and the message names a flag status accepts.
            let missing = try cluster.startClient(["status", "--server", "\(server)"], name: "status-missing")
            #expect(try await missing.waitForExit() == 3)
            #expect(missing.errors.contains("authorization token"), "\(missing.errors)")
            #expect(missing.errors.contains("--auth-token-file"), "\(missing.errors)")
            #expect(!missing.errors.contains("Unknown option"), "\(missing.errors)")

            let configFile = cluster.logs.appendingPathComponent("client.json")
            try #"{"client": {"server": "\#(server)", "security": {"authTokenFile": "\#(tokenFile.path)"}}}"#
                .write(to: configFile, atomically: true, encoding: .utf8)
            let ways: [(name: String, arguments: [String], environment: [String: String]?)] = [
                ("status-flag", ["--server", "\(server)", "--auth-token-file", tokenFile.path], nil),
                ("status-environment", ["--server", "\(server)"], ["DIP_AUTH_TOKEN": "correct-horse-battery-staple"]),
                ("status-config", ["--config", configFile.path], nil),
            ]
            for way in ways {
                let status = try cluster.startClient(["status", "--json"] + way.arguments, name: way.name, environment: way.environment)
                #expect(try await status.waitForExit() == 0, "\(way.name): \(status.errors)")
                let peer = try JSONDecoder().decode(PeerStatus.self, from: Data(status.output.utf8))
                #expect(peer.nodes.map(\.name) == [NodeID("node-1")], "\(way.name)")
            }
        }
    }

    @Test(
        "dip-client status reaches a TLS server with --tls-trust-roots; plaintext is turned away",
        .enabled(if: Self.openssl != nil, "openssl is not installed (apt-get install openssl)"))
    func statusWithTLS() async throws {
        try await withFaultCluster { cluster in
            let (certificate, key) = try Self.makeCertificate(in: cluster.logs, name: "status")
            let tls = ["--tls-certificate", certificate, "--tls-key", key, "--tls-trust-roots", certificate]
            cluster.security = PeerSecurity(tls: .init(trustRoots: certificate))
            let server = try await cluster.startServer(tls)
            try await cluster.startNode("node-1", ["--load", "0"] + tls)
            try await cluster.waitForNodes(1)
            let status = try cluster.startClient(
                ["status", "--json", "--server", "\(server)", "--tls-trust-roots", certificate], name: "status-tls")
            #expect(try await status.waitForExit() == 0, "\(status.errors)")
            let peer = try JSONDecoder().decode(PeerStatus.self, from: Data(status.output.utf8))
            #expect(peer.nodes.map(\.name) == [NodeID("node-1")])
            let plaintext = try cluster.startClient(["status", "--server", "\(server)"], name: "status-plaintext")
            #expect(try await plaintext.waitForExit() == 3, "\(plaintext.errors)")
        }
    }

    @Test("Security configuration errors are clear: certificate without key, unreadable or empty token file, empty DIP_AUTH_TOKEN")
    func configurationErrors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dip-security-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let empty = "\(directory)/empty-token"
            try "  \n".write(toFile: empty, atomically: true, encoding: .utf8)
            let missing = "\(directory)/no-such-token"
            let certificate = "\(directory)/cert.pem"
            try "not really a certificate".write(toFile: certificate, atomically: true, encoding: .utf8)
            func failure(_ settings: SecuritySettings, flag: String? = nil, environment: [String: String] = [:]) -> DistributedImagingError? {
                return #expect(throws: DistributedImagingError.self) {
                    try settings.resolve(tokenFileFromFlag: flag, environment: environment, section: "node")
                }
            }
            var withCertificate = SecuritySettings()
            withCertificate.tlsCertificate = certificate
            let noKey = failure(withCertificate)
            #expect(noKey?.code == .invalidConfiguration)
            #expect(noKey?.message.contains("--tls-key") == true, "\(String(describing: noKey))")
            let unreadable = failure(SecuritySettings(), flag: missing)
            #expect(unreadable?.code == .invalidConfiguration)
            #expect(unreadable?.message.contains("cannot read '\(missing)'") == true, "\(String(describing: unreadable))")
            let emptyFile = failure(SecuritySettings(), flag: empty)
            #expect(emptyFile?.message.contains("'\(empty)' is empty") == true, "\(String(describing: emptyFile))")
            var fromConfig = SecuritySettings()
            fromConfig.authTokenFile = empty
            let emptyConfigured = failure(fromConfig)
            #expect(emptyConfigured?.message.contains("node.security.authTokenFile") == true, "\(String(describing: emptyConfigured))")
            let emptyEnvironment = failure(SecuritySettings(), environment: ["DIP_AUTH_TOKEN": " "])
            #expect(emptyEnvironment?.code == .invalidConfiguration)
            #expect(emptyEnvironment?.message.contains("DIP_AUTH_TOKEN is set but empty") == true, "\(String(describing: emptyEnvironment))")
        }
    }

    @Test("The executables turn a security configuration error into a clear message and exit 2")
    func configurationErrorsExit() async throws {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("dip-security-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: logs) }
        let certificate = logs.appendingPathComponent("cert.pem").path
        try "x".write(toFile: certificate, atomically: true, encoding: .utf8)
        let server = try await runToCompletion(
            "dip-server", ["--listen", "127.0.0.1:0", "--storage-root", logs.path, "--tls-certificate", certificate],
            logDirectory: logs, name: "server-no-key")
        #expect(server.status == 2, "\(server.errors)")
        #expect(server.errors.contains("--tls-key"), "\(server.errors)")
        let node = try await runToCompletion(
            "dip-node", ["--name", "n", "--listen", "127.0.0.1:0", "--storage-root", logs.path, "--auth-token-file", logs.appendingPathComponent("missing").path],
            logDirectory: logs, name: "node-missing-token")
        #expect(node.status == 2, "\(node.errors)")
        #expect(node.errors.contains("cannot read"), "\(node.errors)")
    }
}
