import Foundation

/// A started executable whose output goes to files, stopped for sure by ``stop()``.
final class ManagedProcess: @unchecked Sendable {
    let name: String
    let process = Process()
    let standardOutput: URL
    let standardError: URL

    /// Where `swift build` put the executables: beside the test bundle, or `DIP_BIN_DIR`.
    static let binDirectory: URL = {
        if let path = ProcessInfo.processInfo.environment["DIP_BIN_DIR"] { return URL(fileURLWithPath: path) }
        var url = Bundle.main.bundleURL
        // On Linux the test runner is `<bin>/<Package>PackageTests.xctest`; on macOS a bundle inside <bin>.
        while url.path != "/" {
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("dip-server").path) { return url }
            url.deleteLastPathComponent()
        }
        return Bundle.main.bundleURL.deletingLastPathComponent()
    }()

    static func executable(_ name: String) throws -> URL {
        let url = Self.binDirectory.appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw TestFailure("\(url.path) is missing: run `swift build` first (or set DIP_BIN_DIR)")
        }
        return url
    }

    init(_ executable: String, _ arguments: [String], logDirectory: URL, name: String, environment: [String: String]? = nil) throws {
        self.name = name
        self.standardOutput = logDirectory.appendingPathComponent("\(name).out")
        self.standardError = logDirectory.appendingPathComponent("\(name).err")
        _ = FileManager.default.createFile(atPath: self.standardOutput.path, contents: nil)
        _ = FileManager.default.createFile(atPath: self.standardError.path, contents: nil)
        self.process.executableURL = try Self.executable(executable)
        var arguments = arguments
        // Every server gets its own state directory (beside its logs) unless the test names one:
        // never the user's default, never another test's.
        if executable == "dip-server" && !arguments.contains("--state-dir") && !arguments.contains("--help") {
            arguments += ["--state-dir", logDirectory.appendingPathComponent("\(name).state").path]
        }
        self.process.arguments = arguments
        self.process.standardOutput = try FileHandle(forWritingTo: self.standardOutput)
        self.process.standardError = try FileHandle(forWritingTo: self.standardError)
        self.process.standardInput = FileHandle.nullDevice
        if let environment {
            self.process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        try self.process.run()
    }

    var output: String { (try? String(contentsOf: self.standardOutput, encoding: .utf8)) ?? "" }
    var errors: String { (try? String(contentsOf: self.standardError, encoding: .utf8)) ?? "" }

    /// Polls standard output until a line contains `marker`; returns that line.
    func waitForLine(containing marker: String, timeout: Duration = .seconds(20)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = self.output.split(separator: "\n").first(where: { $0.contains(marker) }) { return String(line) }
            guard self.process.isRunning else {
                throw TestFailure("\(self.name) exited (\(self.process.terminationStatus)) before printing '\(marker)': \(self.errors)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("\(self.name) did not print '\(marker)' within \(timeout): \(self.errors)")
    }

    /// Waits for the process to exit by itself; returns its status.
    func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while self.process.isRunning {
            guard ContinuousClock.now < deadline else {
                self.stop()
                throw TestFailure("\(self.name) did not exit within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return self.process.terminationStatus
    }

    /// SIGTERM, up to 5 s of grace, then SIGKILL. Safe to call twice.
    func stop() {
        guard self.process.isRunning else { return }
        self.process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while self.process.isRunning && Date() < deadline { usleep(10_000) }
        if self.process.isRunning {
            // Bounded: Foundation may not notice a crashed (e.g. backtracing) child at once.
            kill(self.process.processIdentifier, SIGKILL)
            let killed = Date().addingTimeInterval(5)
            while self.process.isRunning && Date() < killed { usleep(10_000) }
        }
    }
}

/// Runs an executable to completion.
func runToCompletion(
    _ executable: String, _ arguments: [String], logDirectory: URL, name: String, timeout: Duration = .seconds(30)
) async throws -> (status: Int32, output: String, errors: String) {
    let process = try ManagedProcess(executable, arguments, logDirectory: logDirectory, name: name)
    defer { process.stop() }
    let status = try await process.waitForExit(timeout: timeout)
    return (status, process.output, process.errors)
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
