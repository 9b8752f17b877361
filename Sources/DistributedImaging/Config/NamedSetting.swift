/// A setting chosen by name from a fixed list (``PlacementStrategy``, ``DispatchOrder``): one
/// rule for parsing the name a file or flag gives, and one error naming the key and the names.
public protocol NamedSetting: RawRepresentable, CaseIterable, CustomStringConvertible where RawValue == String {
    /// The key and flag the error names by default, e.g. `server.placement (--placement)`.
    static var settingKey: String { get }
}

extension NamedSetting {
    /// Parses a configured name.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` naming `key` and the
    ///   accepted names.
    public init(parsing name: String, key: String = Self.settingKey) throws {
        guard let value = Self(rawValue: name) else {
            let names = Self.allCases.map(\.rawValue).joined(separator: ", ")
            throw DistributedImagingError.invalidConfiguration("\(key): must be one of \(names), not '\(name)'")
        }
        self = value
    }

    public var description: String { self.rawValue }
}
