import DistributedImaging
@testable import DistributedImagingGRPC
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Testing

/// Errors that echo the caller's input fit on the wire: a 20 KB bad pipeline is refused as
/// `invalidArgument` naming the offending token, not reported as an outage.
@Suite("Long errors on the wire", .timeLimit(.minutes(1)))
struct LongErrorTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    struct Case: Sendable, CustomTestStringConvertible {
        var pipeline: String
        var token: String
        var testDescription: String { "\(self.pipeline.utf8.count) bytes naming \(self.token)" }
    }

    static let cases: [Case] = [
        // A parse error at the very end of 20 KB of good stages.
        Case(pipeline: Array(repeating: "invert", count: 2900).joined(separator: " | ") + " | gaussian(size 5)", token: "expected ':' after 'size'"),
        // A missing '|' early on.
        Case(pipeline: "invert invert" + String(repeating: " | invert", count: 2300), token: "expected '|' between filters at column 8"),
        // An unknown filter after 20 KB of good stages.
        Case(pipeline: Array(repeating: "invert", count: 2900).joined(separator: " | ") + " | bogus", token: "unknown filter 'bogus'"),
        // One 20 KB name.
        Case(pipeline: String(repeating: "x", count: 20_000), token: "unknown filter 'xxxxxxxxxx"),
        // 20 KB of multi-byte characters.
        Case(pipeline: "invert | " + String(repeating: "é", count: 10_000), token: "expected a filter name at column 10"),
    ]

    /// A real server role with an empty storage root and one static node that is never called:
    /// the request is checked before any task is placed.
    func withServer<Result: Sendable>(_ body: (PeerAddress) async throws -> Result) async throws -> Result {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dip-long-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("photos"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let host = try GRPCServerHost(
            settings: ServerSettings(listen: "127.0.0.1:0", storageRoot: root.path, nodes: [.init(name: "n1", address: "127.0.0.1:9")]),
            logger: self.logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await host.membership.run() }
            group.addTask { try await host.endpoint.run() }
            defer {
                host.endpoint.beginGracefulShutdown()
                host.membership.beginGracefulShutdown()
            }
            let result = try await body(try await host.endpoint.listeningAddress)
            host.endpoint.beginGracefulShutdown()
            host.membership.beginGracefulShutdown()
            try await group.waitForAll()
            return result
        }
    }

    @Test("A 20 KB bad pipeline is refused as invalidArgument with a short message", arguments: Self.cases)
    func overTheWire(_ testCase: Case) async throws {
        #expect(testCase.pipeline.utf8.count >= 20_000)
        try await self.withServer { address in
            let error = await #expect(throws: DistributedImagingError.self) {
                try await GRPCJobSubmitter.withSubmitter(server: address) {
                    try await $0.submit(JobRequest(inputDirectory: "photos", pipeline: testCase.pipeline))
                }
            }
            #expect(error?.code == .invalidPipeline, "\(String(describing: error?.message.prefix(300)))")
            #expect(error?.message.contains(testCase.token) == true, "\(String(describing: error?.message.prefix(600)))")
            #expect((error?.message.utf8.count ?? .max) <= 1024, "\(error?.message.utf8.count ?? 0) bytes")
        }
    }

    @Test("Any served message is bounded, whatever it echoes")
    func safetyNet() async throws {
        try await self.withServer { address in
            let path = String(repeating: "/a", count: 10_000)
            let error = await #expect(throws: DistributedImagingError.self) {
                try await GRPCJobSubmitter.withSubmitter(server: address) {
                    try await $0.submit(JobRequest(inputDirectory: path, pipeline: "invert"))
                }
            }
            #expect(error?.code != .unavailable, "\(String(describing: error?.message.prefix(300)))")
            #expect((error?.message.unicodeScalars.count ?? .max) <= RPCError.maxMessageScalars + 1)
        }
    }

    @Test("dip-client exits 2 naming the first offending token")
    func realClient() async throws {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("dip-long-client-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: logs) }
        try await self.withServer { address in
            let pipeline = Array(repeating: "invert", count: 2900).joined(separator: " | ") + " | bogus | worse"
            let client = try await runToCompletion(
                "dip-client", ["submit", "--server", "\(address)", "--pipeline", pipeline, "photos"], logDirectory: logs,
                name: "client")
            #expect(client.status == 2, "\(client.errors.prefix(500))")
            #expect(client.errors.contains("unknown filter 'bogus'"), "\(client.errors.prefix(500))")
            #expect(!client.errors.contains("cannot reach"), "\(client.errors.prefix(500))")
            #expect(client.errors.utf8.count < 2048)
        }
    }
}
