import DistributedImaging
import DistributedImagingGRPC
import Foundation
import Testing

/// The operator's tools with the real executables: receipt.json, re-runs, --only-failed,
/// --events jsonl, progress on stderr and dip-client status.
@Suite("Operator tools end to end (real executables)", .serialized, .timeLimit(.minutes(2)))
struct OperatorEndToEndTests {
    @Test("receipt.json, re-run skips, --only-failed, --events jsonl and status")
    func operatorTools() async throws {
        try await EndToEndTests().withCluster { root, server, logs in
            func submit(_ arguments: [String], name: String) async throws -> (status: Int32, output: String, errors: String) {
                try await runToCompletion(
                    "dip-client", ["submit", "--server", "\(server)", "--pipeline", "invert"] + arguments, logDirectory: logs, name: name)
            }
            let photos = root.appendingPathComponent("photos")
            try Data("broken".utf8).write(to: photos.appendingPathComponent("broken.png"))

            // First run: one failure; the receipt on disk equals --json's; progress on stderr.
            let first = try await submit(["--json", "photos"], name: "first")
            #expect(first.status == 1, "\(first.errors)")
            let receipt = try JSONDecoder().decode(JobReceipt.self, from: Data(first.output.utf8))
            let onDisk = try JobReceipt.decodeJSON(
                Array(try Data(contentsOf: root.appendingPathComponent("photos-out/receipt.json"))), source: "receipt.json")
            #expect(onDisk == receipt)
            #expect(receipt.counts.failed == 1)
            #expect(first.errors.contains("progress: "), "\(first.errors)")

            // Second run: the complete images are skipped and said so.
            let second = try await submit(["--json", "--quiet", "photos"], name: "second")
            let again = try JSONDecoder().decode(JobReceipt.self, from: Data(second.output.utf8))
            #expect(again.counts.succeeded == 0)
            #expect(again.counts.failed == 1)
            #expect(again.tasks.filter { $0.error?.hasPrefix("already complete") == true }.count == EndToEndTests.images.count)
            #expect(second.errors.contains("already complete"))
            #expect(!second.errors.contains("progress: "))

            // Fix the broken image; --only-failed runs just it.
            try FileManager.default.removeItem(at: photos.appendingPathComponent("broken.png"))
            try FileManager.default.copyItem(
                at: photos.appendingPathComponent(EndToEndTests.images[0]), to: photos.appendingPathComponent("broken.png"))
            let rerun = try await runToCompletion(
                "dip-client",
                ["submit", "--server", "\(server)", "--json", "--only-failed", root.appendingPathComponent("photos-out/receipt.json").path],
                logDirectory: logs, name: "only-failed")
            #expect(rerun.status == 0, "\(rerun.errors)")
            let fixed = try JSONDecoder().decode(JobReceipt.self, from: Data(rerun.output.utf8))
            #expect(fixed.counts.succeeded == 1)
            #expect(fixed.tasks.first { $0.input == "photos/broken.png" }?.status == .succeeded)
            #expect(rerun.errors.contains("re-running 1 failed task"))

            // --events jsonl: one JSON event per line, the receipt last.
            let events = try await submit(["--events", "jsonl", "--force", "photos"], name: "events")
            #expect(events.status == 0, "\(events.errors)")
            #expect(events.output.hasPrefix(#"{"event":"started","#), "\(events.output)")
            let decoded = try events.output.split(separator: "\n").map { try JSONDecoder().decode(JobEvent.self, from: Data($0.utf8)) }
            guard case .started = try #require(decoded.first), case .finished(let last) = try #require(decoded.last) else {
                Issue.record("events: \(events.output)")
                return
            }
            #expect(last.counts.succeeded == EndToEndTests.images.count + 1)

            // status: three nodes, each with this server's activity.
            let status = try await runToCompletion(
                "dip-client", ["status", "--server", "\(server)", "--json"], logDirectory: logs, name: "status")
            #expect(status.status == 0, "\(status.errors)")
            let peer = try JSONDecoder().decode(PeerStatus.self, from: Data(status.output.utf8))
            #expect(peer.nodes.count == 3)
            #expect(peer.nodes.compactMap(\.activity).map(\.done).reduce(0, +) >= EndToEndTests.images.count + 2)
            let table = try await runToCompletion("dip-client", ["status", "--server", "\(server)"], logDirectory: logs, name: "status-table")
            #expect(table.output.contains("node-1") && table.output.contains("IN FLIGHT"), "\(table.output)")
        }
    }
}
