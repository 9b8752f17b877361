import DistributedImaging
@testable import DistributedImagingGRPC
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Testing

/// Registrations are checked like configuration: a bad one is refused with `invalidArgument`
/// naming the field and never reaches the registry; `status` formats any value it receives.
@Suite("Registration validation", .timeLimit(.minutes(1)))
struct RegistrationValidationTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    struct Case: Sendable, CustomTestStringConvertible {
        var name = "n1"
        var address = "127.0.0.1:7001"
        var load = 0.5
        var maxConcurrentTasks: Int32 = 4
        var activeTasks: Int32 = 0
        var policy: Dip_V1_SchedulingPolicy = .optional
        var loadMode: Dip_V1_LoadMode = .fixed
        var queuedTasks: Int32? = 0
        var expected: String
        var testDescription: String { self.expected }
    }

    static let cases: [Case] = [
        Case(load: .nan, expected: "load must be in 0…1, not nan"),
        Case(load: -5, expected: "load must be in 0…1, not -5.0"),
        Case(load: .infinity, expected: "load must be in 0…1, not inf"),
        Case(load: 1e308, expected: "load must be in 0…1, not 1e+308"),
        Case(maxConcurrentTasks: -1, expected: "max_concurrent_tasks must be in 1…1000000 (0 when not advertised), not -1"),
        Case(maxConcurrentTasks: Int32.max, expected: "max_concurrent_tasks must be in 1…1000000 (0 when not advertised), not 2147483647"),
        Case(activeTasks: -1, expected: "active_tasks must be in 0…1000000, not -1"),
        Case(activeTasks: Int32.max, expected: "active_tasks must be in 0…1000000, not 2147483647"),
        Case(queuedTasks: -3, expected: "queued_tasks must be in 0…100000000, not -3"),
        Case(queuedTasks: Int32.max, expected: "queued_tasks must be in 0…100000000, not 2147483647"),
        Case(loadMode: .UNRECOGNIZED(7), expected: "load_mode must be LOAD_MODE_FIXED (1) or LOAD_MODE_AUTO (2), not 7"),
        Case(policy: .UNRECOGNIZED(99), expected: "policy must be SCHEDULING_POLICY_MANDATORY (1) or SCHEDULING_POLICY_OPTIONAL (2), not 99"),
        Case(name: String(repeating: "n", count: 1 << 20), expected: "it must be at most 128 bytes, not 1048576"),
        Case(name: "", expected: "it must be non-empty"),
        Case(name: "a b", expected: "without spaces or '/'"),
        Case(address: "not an address", expected: "is not a HOST:PORT address"),
        Case(address: "127.0.0.1:70000", expected: "the port must be a number in 0...65535"),
        Case(address: String(repeating: "h", count: 1 << 20) + ":80", expected: "longer than 300 bytes"),
    ]

    @Test("A bad registration is refused over the wire, naming the field", arguments: Self.cases)
    func refused(_ testCase: Case) async throws {
        let registry = try NodeMembership(logger: self.logger, connect: GRPCNodeConnection.connector())
        try await withEndpoint([RegistryServiceProvider(membership: registry)]) { address in
            try await withGRPCClient(
                transport: try HTTP2ClientTransport.Posix(target: address.target, transportSecurity: .plaintext)
            ) { client in
                let service = Dip_V1_RegistryService.Client(wrapping: client)
                let error = await #expect(throws: RPCError.self) {
                    _ = try await service.registerNode(
                        .with {
                            $0.protocolVersion = .protocolVersion1
                            $0.node = .with { node in
                                node.name = testCase.name
                                node.address = testCase.address
                                node.load = testCase.load
                                node.maxConcurrentTasks = testCase.maxConcurrentTasks
                                node.activeTasks = testCase.activeTasks
                                node.policy = testCase.policy
                                node.loadMode = testCase.loadMode
                                if let queued = testCase.queuedTasks { node.queuedTasks = queued }
                            }
                        })
                }
                #expect(error?.code == .invalidArgument)
                #expect(error?.message.contains(testCase.expected) == true, "\(String(describing: error?.message.prefix(500)))")
                #expect((error?.message.utf8.count ?? .max) <= 1024)
                // A good registration still works, and only it is listed. It advertises this
                // endpoint, which answers the server's admission check (with `unimplemented`).
                _ = try await service.registerNode(
                    .with {
                        $0.protocolVersion = .protocolVersion1
                        $0.node = .with { node in
                            node.name = "good"
                            node.address = "\(address)"
                            node.load = 1
                            node.maxConcurrentTasks = 2
                            node.policy = .mandatory
                        }
                    })
            }
        }
        #expect(registry.advertisements().map(\.name) == [NodeID("good")])
        registry.beginGracefulShutdown()
    }

    @Test("Configured node names follow the same rule")
    func configuredName() throws {
        let error = #expect(throws: DistributedImagingError.self) {
            try NodeConfiguration(name: String(repeating: "x", count: 129)).validate()
        }
        #expect(error?.message.contains("at most 128 bytes, not 129") == true)
        try NodeConfiguration(name: String(repeating: "x", count: 128)).validate()
    }

    static let strange: PeerStatus = PeerStatus(
        role: .server,
        nodes: [
            NodeAdvertisement(name: NodeID("nan"), address: "127.0.0.1:1", policy: .optional, load: .nan, maxConcurrentTasks: -1),
            NodeAdvertisement(name: NodeID("inf"), address: "127.0.0.1:2", load: -.infinity, activeTasks: Int(Int32.min)),
            NodeAdvertisement(name: NodeID("huge"), address: "127.0.0.1:3", load: 1e308),
        ],
        jobs: [ClusterActivity.Job(jobID: JobID("j"), input: "photos", done: -1, failed: 0, total: 3, elapsed: .nan)])

    @Test("The status table formats any value without trapping")
    func table() {
        let table = Self.strange.table
        #expect(table.contains("nan"))
        #expect(table.contains("-inf"))
        #expect(table.contains("1e+308"))
        #expect(table.contains("?"), "\(table)")
    }

    @Test("dip-client status and status --json against a peer reporting NaN and infinities", arguments: [false, true])
    func realClient(json: Bool) async throws {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("dip-status-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: logs) }
        try await withEndpoint([HealthServiceProvider { Self.strange }]) { server in
            let client = try await runToCompletion(
                "dip-client", ["status", "--server", "\(server)"] + (json ? ["--json"] : []), logDirectory: logs, name: "client")
            #expect(client.status == 0, "\(client.errors)")
            if json {
                #expect(client.output.contains("\"NaN\""), "\(client.output)")
                #expect(client.output.contains("\"-Infinity\""), "\(client.output)")
            } else {
                #expect(client.output.contains("nan"), "\(client.output)")
            }
        }
    }
}
