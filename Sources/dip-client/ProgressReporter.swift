import DIPCommandSupport
import DistributedImaging
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Shows a job's progress on standard error: a redrawn bar on a terminal, a plain line every few
/// seconds otherwise. The state and formatting live in the library's ``JobProgress``.
final class ProgressReporter: Sendable {
    enum Mode: Sendable {
        /// A bar redrawn in place (standard error is a terminal).
        case bar
        /// A line every ``plainInterval`` (standard error is a file or a pipe).
        case lines
        /// Nothing (`--quiet`).
        case off
    }

    let mode: Mode
    /// Whether every event goes to stdout as a JSON line (`--events jsonl`).
    let eventLines: Bool
    private let origin = ContinuousClock.now
    private let state = Mutex<(progress: JobProgress, barShown: Bool, lastLine: Double)>((JobProgress(), false, 0))

    /// How often the plain mode prints a line.
    static let plainInterval = 5.0

    /// Where the task lines go (the command's human lines: stdout, or stderr with --json).
    private let say: @Sendable (String) -> Void

    init(quiet: Bool, eventLines: Bool, say: @escaping @Sendable (String) -> Void) {
        self.eventLines = eventLines
        self.say = say
        if quiet {
            self.mode = .off
        } else {
            self.mode = isatty(STDERR_FILENO) == 1 ? .bar : .lines
        }
    }

    /// How often ``tick()`` should be called.
    var tickInterval: Duration { self.mode == .bar ? .milliseconds(200) : .seconds(1) }

    private var now: Double { (ContinuousClock.now - self.origin).secondsValue }

    /// Folds `event` in; `line`, when given, is printed above the bar (or alone).
    func record(_ event: JobEvent, line: String?) {
        let now = self.now
        self.state.withLock { state in
            state.progress.record(event, at: now)
            if self.eventLines, let json = try? Self.lineEncoder.encode(event) {
                FileHandle.standardOutput.write(json + Data("\n".utf8))
            }
            switch self.mode {
            case .off:
                if let line { self.say(line) }
            case .lines:
                if let line { self.say(line) }
                if case .started = event { Console.error(state.progress.line(at: now)); state.lastLine = now }
            case .bar:
                if let line {
                    // Clear the bar, print the line where human lines go, redraw below it.
                    if state.barShown { Self.write("\r\u{1B}[2K") }
                    self.say(line)
                    state.barShown = false
                }
                self.draw(&state, now: now)
            }
        }
    }

    /// Follows a job through `body`, showing its progress until it ends.
    ///
    /// - Parameter line: The line to print for an event, if any (failures, say).
    func run(
        _ body: @escaping @Sendable (_ onEvent: @escaping @Sendable (JobEvent) async -> Void) async throws -> JobReceipt,
        line: @escaping @Sendable (JobEvent) -> String?
    ) async throws -> JobReceipt {
        defer { self.finish() }
        return try await withThrowingTaskGroup(of: JobReceipt?.self) { group in
            if self.mode != .off {
                let interval = self.tickInterval
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        self.tick()
                    }
                    return nil
                }
            }
            let receipt = try await body { event in self.record(event, line: line(event)) }
            group.cancelAll()
            return receipt
        }
    }

    private static let lineEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Redraws the bar, or prints a plain line when the interval passed.
    func tick() {
        let now = self.now
        self.state.withLock { state in
            guard state.progress.startTime != nil, !state.progress.isFinished else { return }
            switch self.mode {
            case .off: return
            case .bar: self.draw(&state, now: now)
            case .lines:
                if now - state.lastLine >= Self.plainInterval {
                    Console.error(state.progress.line(at: now))
                    state.lastLine = now
                }
            }
        }
    }

    /// Ends the bar's line (call once the job ended).
    func finish() {
        let now = self.now
        self.state.withLock { state in
            switch self.mode {
            case .bar:
                if state.progress.startTime != nil {
                    self.draw(&state, now: now)
                    Self.write("\n")
                }
            case .lines:
                if state.progress.startTime != nil { Console.error(state.progress.line(at: now)) }
            case .off:
                break
            }
        }
    }

    private func draw(_ state: inout (progress: JobProgress, barShown: Bool, lastLine: Double), now: Double) {
        guard state.progress.startTime != nil else { return }
        let columns = Self.terminalColumns
        let barWidth = max(10, min(40, columns - 50))
        var text = state.progress.bar(width: barWidth, at: now)
        if text.count > columns - 1 { text = String(text.prefix(max(columns - 1, 1))) }
        Self.write("\r\u{1B}[2K" + text)
        state.barShown = true
    }

    private static var terminalColumns: Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }

    private static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

extension Duration {
    var secondsValue: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
