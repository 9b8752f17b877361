import DistributedImaging
@testable import DistributedImagingGRPC
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Nothing hangs a job, with default settings (no task timeout given, 5 s heartbeats): a node
/// that stops answering is dropped after 3 missed health checks and its tasks are placed again;
/// an address that accepts connections but never answers is never given work.
@Suite("Hangs (real executables, default settings)", .serialized, .timeLimit(.minutes(2)))
struct HangTests {
    static let pipeline = "invert"

    @Test("A SIGSTOPped node, no task timeout: the job succeeds once the node is dropped; status shows it meanwhile")
    func stoppedNode() async throws {
        try await withFaultCluster { cluster in
            let server = try await cluster.startServer()
            for index in 1...2 {
                try await cluster.startNode(
                    "node-\(index)", ["--load", "0", "--delay", "0.05", "--max-concurrent", "2", "--seed", "\(index)"])
            }
            try await cluster.waitForNodes(2)
            let images = try cluster.makeImages(200, in: "in")
            let out = cluster.root.appendingPathComponent("out")
            let client = try cluster.startClient(
                ["submit", "--server", "\(server)", "--pipeline", Self.pipeline, "--output", "out", "--json", "in"],
                name: "client")
            try await ManagedProcess.waitUntil {
                ((try? FileManager.default.contentsOfDirectory(atPath: out.path))?.count ?? 0) > 4 || !client.process.isRunning
            }
            let victim = try #require(cluster.nodes["node-1"])
            victim.signal(SIGSTOP)
            try #require(client.process.isRunning, "the job ended before the node was stopped: nothing to observe")

            // While the node is silent, status lists it as suspect with the job's tasks on it,
            // and it holds at most twice its slots.
            var seen: NodeAdvertisement?
            let deadline = ContinuousClock.now + .seconds(30)
            while seen == nil, ContinuousClock.now < deadline, client.process.isRunning {
                let status = try await HealthClient.status(of: server)
                seen = status.nodes.first { $0.name == NodeID("node-1") && $0.suspect == true && ($0.activity?.inFlight ?? 0) > 0 }
                try await Task.sleep(for: .milliseconds(100))
            }
            let stuck = try #require(seen, "status never showed node-1 suspect with tasks in flight")
            #expect((stuck.activity?.inFlight ?? 0) <= 4, "a job keeps at most 2 × slots on one node")

            let exit = try await client.waitForExit(timeout: .seconds(60))
            victim.signal(SIGCONT)
            #expect(exit == 0, "dip-client: \(client.errors)")
            let receipt = try client.receipt()
            #expect(receipt.counts.succeeded == images.count)
            // The victim was hit: tasks it held were taken back, and say why.
            let lost = receipt.tasks.flatMap(\.lostAttempts)
            #expect(lost.contains { $0.contains("node 'node-1'") && $0.contains("missed 3 health checks") }, "\(lost)")
        }
    }

    @Test("A registration at an address that accepts connections but never answers is refused; the job succeeds")
    func blackHoleRegistration() async throws {
        try await withFaultCluster { cluster in
            let server = try await cluster.startServer()
            try await cluster.startNode("node-1", ["--load", "0", "--delay", "0"])
            try await cluster.waitForNodes(1)
            let hole = try BlackHole()
            defer { hole.close() }

            let started = ContinuousClock.now
            let error = await #expect(throws: RPCError.self) {
                try await withGRPCClient(
                    transport: try HTTP2ClientTransport.Posix(target: server.target, transportSecurity: .plaintext)
                ) { client in
                    _ = try await Dip_V1_RegistryService.Client(wrapping: client).registerNode(
                        .with {
                            $0.protocolVersion = .protocolVersion1
                            $0.node.name = "hole"
                            $0.node.address = "127.0.0.1:\(hole.port)"
                            $0.node.maxConcurrentTasks = 8
                            $0.node.policy = .mandatory
                        })
                }
            }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("cannot reach node 'hole'") == true, "\(String(describing: error))")
            #expect(ContinuousClock.now - started < .seconds(30), "the check is bounded by the heartbeat interval")
            #expect(hole.acceptedConnections() > 0, "the server did try the advertised address")

            let images = try cluster.makeImages(20, in: "in")
            let client = try cluster.startClient(
                ["submit", "--server", "\(server)", "--pipeline", Self.pipeline, "--json", "in"], name: "client")
            #expect(try await client.waitForExit(timeout: .seconds(60)) == 0, "\(client.errors)")
            let receipt = try client.receipt()
            #expect(receipt.counts.succeeded == images.count)
            #expect(receipt.tasks.allSatisfy { $0.node != NodeID("hole") })
            let status = try await HealthClient.status(of: server)
            #expect(!status.nodes.contains { $0.name == NodeID("hole") })
        }
    }
}

/// A TCP listener on 127.0.0.1 that completes connections and never sends a byte.
private final class BlackHole: Sendable {
    let port: UInt16
    private let descriptor: Int32

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 64) == 0 else {
            Glibc.close(descriptor)
            throw TestFailure("bind/listen: \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.port = UInt16(bigEndian: address.sin_port)
        self.descriptor = descriptor
    }

    /// Connections waiting in the backlog (completed by the kernel, never read): drains them
    /// without answering and returns how many there were.
    func acceptedConnections() -> Int {
        var count = 0
        let flags = fcntl(self.descriptor, F_GETFL)
        _ = fcntl(self.descriptor, F_SETFL, flags | O_NONBLOCK)
        while true {
            let connection = accept(self.descriptor, nil, nil)
            guard connection >= 0 else { break }
            count += 1
            Glibc.close(connection)
        }
        return count
    }

    func close() { Glibc.close(self.descriptor) }
}
