public import ArgumentParser

extension AsyncParsableCommand {
    /// Parses and runs the command, exiting 2 on a usage error (argument-parser's own code is
    /// 64), as every command's documentation promises; help and `--version` still exit 0.
    public static func mainWithUsageExitCode() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                Console.error(fullMessage(for: error))
                Self.exit(withError: ExitCode(2))
            }
            Self.exit(withError: error)
        }
    }
}
