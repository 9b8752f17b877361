public import DistributedImagingGRPC

/// A command-line flag written over a settings key when given: the one way the commands' flags
/// map to the configuration file's settings.
///
/// ```swift
/// let settings = try DeploymentConfiguration.settings(\.server, file: self.config, flags: [
///     FlagOverride(\.listen, self.listen), FlagOverride(\.metricsListen, ifGiven: self.metricsListen),
/// ])
/// ```
public struct FlagOverride<Settings> {
    let apply: (inout Settings) throws -> Void

    /// Writes `flag` to `key` when the flag was given.
    public init<Value>(_ key: WritableKeyPath<Settings, Value>, _ flag: Value?) {
        self.apply = { settings in if let flag { settings[keyPath: key] = flag } }
    }

    /// Writes `flag` to the optional `key` when the flag was given.
    public init<Value>(_ key: WritableKeyPath<Settings, Value?>, ifGiven flag: Value?) {
        self.apply = { settings in if let flag { settings[keyPath: key] = flag } }
    }

    /// Applies `flag` with `set` when it was given (a value that needs checking, say).
    public init<Value>(_ flag: Value?, _ set: @escaping (inout Settings, Value) throws -> Void) {
        self.apply = { settings in if let flag { try set(&settings, flag) } }
    }

    /// `settings` with `flags` written over it.
    public static func apply(_ flags: [Self], to settings: Settings) throws -> Settings {
        var settings = settings
        for flag in flags { try flag.apply(&settings) }
        return settings
    }
}

extension DeploymentConfiguration {
    /// The `section` of the configuration file at `file` (the defaults without a file), with
    /// `flags` written over it.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` naming the file and key, or as a
    ///   flag's setter.
    public static func settings<Settings>(
        _ section: KeyPath<DeploymentConfiguration, Settings>, file: String?, flags: [FlagOverride<Settings>]
    ) throws -> Settings {
        try FlagOverride.apply(flags, to: try file.map(Self.load(path:)).map { $0[keyPath: section] } ?? DeploymentConfiguration()[keyPath: section])
    }
}
