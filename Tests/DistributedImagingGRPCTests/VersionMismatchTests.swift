import DistributedImaging
import DistributedImagingGRPC
import Foundation
import GRPCCore
import Testing

/// What a server from a future release answers: another protocol revision.
let futureVersionError = RPCError(
    code: .failedPrecondition,
    message: "protocol version mismatch: the caller speaks dip.v1 revision 1, this dip-server speaks dip.v1 revision 2")

/// A registry from a future release.
struct FutureRegistry: Dip_V1_RegistryService.SimpleServiceProtocol {
    func registerNode(request: Dip_V1_RegisterNodeRequest, context: ServerContext) async throws -> Dip_V1_RegisterNodeResponse {
        throw futureVersionError
    }

    func deregisterNode(
        request: Dip_V1_DeregisterNodeRequest, context: ServerContext
    ) async throws -> Dip_V1_DeregisterNodeResponse {
        throw futureVersionError
    }
}

/// A job service from a future release.
struct FutureJobs: Dip_V1_JobService.SimpleServiceProtocol {
    func submitJob(
        request: Dip_V1_SubmitJobRequest, response: RPCWriter<Dip_V1_SubmitJobResponse>, context: ServerContext
    ) async throws {
        throw futureVersionError
    }
}

/// The real executables meeting a peer that speaks another protocol revision say so and exit 2.
@Suite("Protocol version mismatch (real executables)", .timeLimit(.minutes(1)))
struct VersionMismatchTests {
    func withLogs(_ body: (URL) async throws -> Void) async throws {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("dip-version-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: logs) }
        try await body(logs)
    }

    @Test("dip-node exits 2 naming both revisions")
    func node() async throws {
        try await self.withLogs { logs in
            try await withEndpoint([FutureRegistry()]) { server in
                let node = try await runToCompletion(
                    "dip-node",
                    ["--name", "n", "--listen", "127.0.0.1:0", "--server", "\(server)", "--storage-root", logs.path],
                    logDirectory: logs, name: "node", timeout: .seconds(20))
                #expect(node.status == 2, "\(node.errors)")
                #expect(node.errors.contains("protocol version mismatch"), "\(node.errors)")
                #expect(node.errors.contains("revision 2"), "\(node.errors)")
            }
        }
    }

    @Test("dip-client exits 2 naming both revisions")
    func client() async throws {
        try await self.withLogs { logs in
            try await withEndpoint([FutureJobs()]) { server in
                let client = try await runToCompletion(
                    "dip-client", ["submit", "--server", "\(server)", "photos"], logDirectory: logs, name: "client")
                #expect(client.status == 2, "\(client.errors)")
                #expect(client.errors.contains("protocol version mismatch"), "\(client.errors)")
            }
        }
    }
}
