public import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Shows a job's progress on standard error, as `dip-client submit` and `wait` do: a redrawn bar
/// on a terminal, a plain line every few seconds otherwise; with `eventLines`, every event as a
/// JSON line on standard output. The state and formatting live in ``JobProgress``.
///
/// ```swift
/// let reporter = ProgressReporter(quiet: false, eventLines: false) { print($0) }
/// let receipt = try await reporter.run({ onEvent in try await submitter.submit(request, onEvent: onEvent) }) { event in
///     "  \(event)"
/// }
/// ```
public final class ProgressReporter: Sendable {
    /// How progress is shown.
    public enum Mode: Sendable {
        /// A bar redrawn in place (standard error is a terminal).
        case bar
        /// A line every ``plainInterval`` (standard error is a file or a pipe).
        case lines
        /// Nothing (`--quiet`).
        case off
    }

    /// How progress is shown.
    public let mode: Mode
    /// Whether every event goes to stdout as a JSON line (`--events jsonl`).
    public let eventLines: Bool
    private let origin = ContinuousClock.now
    private let state = Mutex<(progress: JobProgress, barShown: Bool, lastLine: Double)>((JobProgress(), false, 0))

    /// How often the plain mode prints a line.
    public static let plainInterval = 5.0

    /// Where the task lines go (the command's human lines: stdout, or stderr with --json).
    private let say: @Sendable (String) -> Void
    /// Where progress lines and the bar go (standard error by default).
    private let progress: @Sendable (String) -> Void

    /// A reporter on standard error: a bar when it is a terminal, plain lines otherwise, nothing
    /// when `quiet`.
    ///
    /// - Parameters:
    ///   - quiet: Show no progress (``Mode/off``).
    ///   - mode: How to show progress when not quiet (default: by whether standard error is a terminal).
    ///   - eventLines: Write every event as a JSON line on standard output.
    ///   - progress: Where progress text goes (default: standard error, unbuffered).
    ///   - say: Where the lines for events go.
    public init(
        quiet: Bool, mode: Mode? = nil, eventLines: Bool,
        progress: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) },
        say: @escaping @Sendable (String) -> Void
    ) {
        self.eventLines = eventLines
        self.say = say
        self.progress = progress
        if quiet {
            self.mode = .off
        } else {
            self.mode = mode ?? (isatty(STDERR_FILENO) == 1 ? .bar : .lines)
        }
    }

    /// How often ``tick()`` should be called.
    public var tickInterval: Duration { self.mode == .bar ? .milliseconds(200) : .seconds(1) }

    private var now: Double { (ContinuousClock.now - self.origin).seconds }

    /// Folds `event` in; `line`, when given, is printed above the bar (or alone).
    public func record(_ event: JobEvent, line: String?) {
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
                if case .started = event { self.progress(state.progress.line(at: now) + "\n"); state.lastLine = now }
            case .bar:
                if let line {
                    // Clear the bar, print the line where human lines go, redraw below it.
                    if state.barShown { self.progress("\r\u{1B}[2K") }
                    self.say(line)
                    state.barShown = false
                }
                self.draw(&state, now: now)
            }
        }
    }

    /// Follows a job through `body`, showing its progress until it ends.
    ///
    /// - Parameters:
    ///   - body: Runs the job, calling back with each event; returns its receipt.
    ///   - line: The line to print for an event, if any (failures, say).
    public func run(
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

    private static let lineEncoder = JSONEncoder.receipts(pretty: false)

    /// Redraws the bar, or prints a plain line when the interval passed.
    public func tick() {
        let now = self.now
        self.state.withLock { state in
            guard state.progress.startTime != nil, !state.progress.isFinished else { return }
            switch self.mode {
            case .off: return
            case .bar: self.draw(&state, now: now)
            case .lines:
                if now - state.lastLine >= Self.plainInterval {
                    self.progress(state.progress.line(at: now) + "\n")
                    state.lastLine = now
                }
            }
        }
    }

    /// Ends the bar's line (call once the job ended).
    public func finish() {
        let now = self.now
        self.state.withLock { state in
            switch self.mode {
            case .bar:
                if state.progress.startTime != nil {
                    self.draw(&state, now: now)
                    self.progress("\n")
                }
            case .lines:
                if state.progress.startTime != nil { self.progress(state.progress.line(at: now) + "\n") }
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
        self.progress("\r\u{1B}[2K" + text)
        state.barShown = true
    }

    private static var terminalColumns: Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }
}
