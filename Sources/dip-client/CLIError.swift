import ArgumentParser
import DIPCommandSupport
import DistributedImaging

import Foundation

/// Prints a library error as one line and exits with the code that matches its kind.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var exitCode: ExitCode

    init(_ error: DistributedImagingError) {
        self.message = error.message
        switch error.code {
        case .invalidPipeline, .invalidArgument, .invalidConfiguration, .pathOutsideStorageRoot, .notFound:
            self.exitCode = ExitCode(2)
        case .unavailable, .timedOut, .unauthenticated: self.exitCode = ExitCode(3)
        default: self.exitCode = ExitCode(1)
        }
    }

    var description: String { "dip-client: error: \(self.message)" }

    /// Prints the one-line message on stderr and returns the exit code to throw.
    func report() -> ExitCode {
        Console.error(self.description)
        return self.exitCode
    }
}

enum PipelineHelp {
    static var text: String {
        let filters = FilterRegistry.standard.all.map { "  \($0.usage)\n      \($0.summary)" }.joined(separator: "\n")
        return "\nFilters (join with '|'):\n\(filters)"
    }
}

