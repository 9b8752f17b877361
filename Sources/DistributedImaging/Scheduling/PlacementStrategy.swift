/// The placements configuration files and flags name (`server.placement`, `--placement`).
public enum PlacementStrategy: String, Sendable, Hashable, Codable, CaseIterable, NamedSetting {
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

    public static let settingKey = "server.placement (--placement)"
}
