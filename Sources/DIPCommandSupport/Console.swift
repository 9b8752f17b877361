public import DistributedImaging
import Foundation
public import Logging

/// Where the commands' own lines go: results on standard output, diagnostics on standard error.
public enum Console {
    /// Writes a line on standard output and flushes it (scripts wait for it).
    public static func announce(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Prints `value` as JSON on standard output (pretty, sorted keys; NaN and infinities, which a
    /// peer may send, as the strings `NaN`, `Infinity`, `-Infinity` rather than a failure).
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `internalError` when it
    ///   cannot be encoded.
    public static func printJSON(_ value: some Encodable) throws {
        do {
            print(String(decoding: try JSONEncoder.receipts().encode(value), as: UTF8.self))
        } catch {
            throw DistributedImagingError(code: .internalError, message: "cannot write JSON: \(error)", cause: error)
        }
    }

    /// Prints `value` as JSON (``printJSON(_:)``) when `json`, otherwise `text`.
    public static func show(_ value: some Encodable, json: Bool, text: () -> String) throws {
        if json { try Self.printJSON(value) } else { print(text()) }
    }

    /// Writes `error` as one line on standard error.
    public static func fail(_ command: String, _ error: DistributedImagingError) {
        FileHandle.standardError.write(Data("\(command): error: \(error.message)\n".utf8))
    }

    /// A logger on standard error at `level`.
    public static func logger(label: String, level: String) throws -> Logger {
        guard let level = Logger.Level(rawValue: level.lowercased()) else {
            throw DistributedImagingError(
                code: .invalidConfiguration,
                message: "--log-level: '\(level)' is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var logger = Logger(label: label, factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = level
        return logger
    }

    /// Writes a line on standard error.
    public static func error(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// On the first SIGINT, runs `handler` and exits 130 (the shell's code for Ctrl-C).
    public static func onInterrupt(_ handler: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        // The handler holds the source, which keeps it alive for the life of the process.
        source.setEventHandler {
            _ = source
            handler()
            exit(130)
        }
        source.resume()
    }
}
