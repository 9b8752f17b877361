/// The placements configuration files and flags name (`server.placement`, `--placement`).
public enum PlacementStrategy: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// ``RandomPlacement``: the seed's rule, the default.
    case random
    /// ``PowerOfTwoChoicesPlacement``.
    case p2c
    /// ``LeastLoadedPlacement``.
    case leastLoaded = "least-loaded"
    /// ``UntriedFirstPlacement``.
    case untriedFirst = "untried-first"

    /// The default: `random`.
    public static let defaultStrategy = PlacementStrategy.random

    /// The placement this name stands for.
    public func makePlacement() -> any Placement {
        switch self {
        case .random: RandomPlacement()
        case .p2c: PowerOfTwoChoicesPlacement()
        case .leastLoaded: LeastLoadedPlacement()
        case .untriedFirst: UntriedFirstPlacement()
        }
    }

    /// Parses a configured name.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` naming `key` and the
    ///   accepted names.
    public init(parsing name: String, key: String = "server.placement (--placement)") throws {
        guard let strategy = Self(rawValue: name) else {
            let names = Self.allCases.map(\.rawValue).joined(separator: ", ")
            throw DistributedImagingError.invalidConfiguration("\(key): must be one of \(names), not '\(name)'")
        }
        self = strategy
    }

    public var description: String { self.rawValue }
}
