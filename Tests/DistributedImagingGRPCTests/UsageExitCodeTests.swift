import Foundation
import Testing

/// Every executable exits 2 on a usage error, as the docs say (argument-parser's own code is 64),
/// and 0 for --help.
@Suite("Usage exit codes (real executables)", .timeLimit(.minutes(1)))
struct UsageExitCodeTests {
    @Test("A usage error exits 2", arguments: [
        ("dip-server", ["--no-such-flag"]), ("dip-node", ["--no-such-flag"]), ("dip-client", ["submit", "--no-such-flag", "x"]),
        ("dip-server", ["--heartbeat-interval", "soon"]), ("dip-node", ["--max-concurrent", "many"]),
        // Numbers a conversion would trap on (Int64 of 1e30 ms): refused, named, not a crash.
        ("dip-client", ["submit", "--server", "127.0.0.1:1", "--timeout", "1e30", "x"]),
        ("dip-client", ["submit", "--server", "127.0.0.1:1", "--timeout", "nan", "x"]),
        ("dip-client", ["apply", "--max-megapixels", "1e300", "in.png", "out.png"]),
        ("dip-client", ["apply", "--max-megapixels", "-1", "in.png", "out.png"]),
    ])
    func usageError(executable: String, arguments: [String]) async throws {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("dip-usage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: logs) }
        let run = try await runToCompletion(executable, arguments, logDirectory: logs, name: executable)
        #expect(run.status == 2, "\(run.errors)")
        #expect(run.errors.contains("Error") || run.errors.contains("error"), "\(run.errors)")
        let help = try await runToCompletion(executable, ["--help"], logDirectory: logs, name: "\(executable)-help")
        #expect(help.status == 0, "\(help.errors)")
    }
}
