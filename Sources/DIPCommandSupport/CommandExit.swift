public import ArgumentParser
public import DistributedImaging

/// The exit codes of the commands, decided here: 0 success; 1 the work failed; 2 a usage or
/// configuration error; 3 a peer cannot be reached or refused the token (or a wait passed its
/// deadline).
public enum CommandExit {
    /// The code for a library error that ends a command.
    public static func code(for error: DistributedImagingError) -> Int32 {
        switch error.code {
        case .invalidPipeline, .invalidArgument, .invalidConfiguration, .pathOutsideStorageRoot, .notFound: 2
        case .unavailable, .timedOut, .unauthenticated: 3
        default: 1
        }
    }

    /// Writes the error that ended a running service (`dip-server`, `dip-node`) as one line on
    /// standard error and gives its code: 2 when its settings or credentials are at fault (a bad
    /// configuration or argument, a refused token), 1 otherwise.
    public static func serviceFailure(_ command: String, _ error: any Error) -> ExitCode {
        let error = error as? DistributedImagingError
            ?? DistributedImagingError(code: .unavailable, message: DistributedImagingError.message(of: error), cause: error)
        Console.fail(command, error)
        return ExitCode([.invalidConfiguration, .invalidArgument, .unauthenticated].contains(error.code) ? 2 : 1)
    }

    /// A library error met while reading settings and flags: exits 2 whatever its code.
    public struct ConfigurationError: Error {
        /// The error.
        public var error: DistributedImagingError
        /// Wraps `error`.
        public init(_ error: DistributedImagingError) { self.error = error }
    }

    /// Runs `body`, which reads settings and flags: a library error in it exits 2.
    public static func configuring<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DistributedImagingError {
            throw ConfigurationError(error)
        }
    }
}

extension AsyncParsableCommand {
    /// Parses and runs the command, exiting as ``CommandExit`` decides: a library error is one
    /// line on standard error (`NAME: error: MESSAGE`) and its code; a usage error exits 2
    /// (argument-parser's own code is 64), as every command's documentation promises; help and
    /// `--version` still exit 0.
    public static func mainWithUsageExitCode() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let name = Self.configuration.commandName ?? "\(Self.self)"
            switch error {
            case let failure as CommandExit.ConfigurationError:
                Console.fail(name, failure.error)
                Self.exit(withError: ExitCode(2))
            case let error as DistributedImagingError:
                Console.fail(name, error)
                Self.exit(withError: ExitCode(CommandExit.code(for: error)))
            default:
                if exitCode(for: error) == .validationFailure {
                    Console.error(fullMessage(for: error))
                    Self.exit(withError: ExitCode(2))
                }
                Self.exit(withError: error)
            }
        }
    }
}
