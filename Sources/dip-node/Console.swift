import DistributedImaging
import Foundation
import Logging

/// Where the executable's own lines go.
enum Console {
    /// Writes a line on standard output and flushes it (scripts wait for it).
    static func announce(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Writes `error` as one line on standard error.
    static func fail(_ command: String, _ error: DistributedImagingError) {
        FileHandle.standardError.write(Data("\(command): error: \(error.message)\n".utf8))
    }

    /// A logger on standard error at `level`.
    static func logger(label: String, level: String) throws -> Logger {
        guard let level = Logger.Level(rawValue: level.lowercased()) else {
            throw DistributedImagingError(
                code: .invalidConfiguration,
                message: "--log-level: '\(level)' is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var logger = Logger(label: label, factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = level
        return logger
    }
}
