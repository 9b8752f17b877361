import Foundation

/// A node's load setting: a fixed number, or `auto` — the node's own measured occupancy.
///
/// The load is the probability that the Optional policy rejects a task and that either policy
/// delays an accepted one. In configuration files it is a number in 0…1 or the string `"auto"`
/// (key `load`, flag `--load`); ``ImagingNode/setLoad(_:)`` changes it while the node runs.
///
/// Under `auto` the load is ``MeasuredLoad``'s estimate: busy slots / slots, smoothed.
public enum NodeLoad: Sendable, Hashable, CustomStringConvertible {
    /// A constant load in 0…1 (the seed's stand-in for the machine's true load).
    case fixed(Double)
    /// The node's measured occupancy (see ``MeasuredLoad``).
    case auto

    /// How a load is set, as ``NodeState/loadMode`` advertises it.
    public enum Mode: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
        case fixed
        case auto

        public var description: String { self.rawValue }
    }

    /// Whether the load is fixed or measured.
    public var mode: Mode {
        switch self {
        case .fixed: .fixed
        case .auto: .auto
        }
    }

    /// `auto`, or the number.
    public var description: String {
        switch self {
        case .fixed(let load): "\(load)"
        case .auto: "auto"
        }
    }

    /// Parses `auto` (any case) or a number in 0…1.
    ///
    /// - Parameter key: The key or flag the text came from, named in the error.
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` naming `key` and
    ///   the value.
    public init(parsing text: String, key: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.lowercased() == "auto" {
            self = .auto
            return
        }
        guard let number = Double(trimmed) else {
            throw DistributedImagingError.invalidConfiguration(
                "\(key): '\(Echo.excerpt(text, limit: 40))' is not a load: give a number in 0…1 or \"auto\"")
        }
        self = .fixed(number)
        try self.validate(key: key)
    }

    /// Checks a fixed load is a finite number in 0…1.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` naming `key`.
    public func validate(key: String) throws {
        guard case .fixed(let load) = self else { return }
        guard load.isFinite, (0...1).contains(load) else {
            throw DistributedImagingError.invalidConfiguration("\(key): load must be in 0…1 or \"auto\", not \(load)")
        }
    }
}

extension NodeLoad: Codable {
    /// Decodes a number or the string `"auto"`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            self = .fixed(number)
        } else if let text = try? container.decode(String.self) {
            do {
                self = try NodeLoad(parsing: text, key: "load")
            } catch let error as DistributedImagingError {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
            }
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "load must be a number in 0…1 or \"auto\"")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .fixed(let load): try container.encode(load)
        case .auto: try container.encode("auto")
        }
    }
}

/// A node's measured load for ``NodeLoad/auto``: its occupancy (slots busy / slots, 0…1),
/// smoothed by an exponentially weighted moving average over events.
///
/// The node takes a sample of its occupancy at three events: when a task is offered (before the
/// decision), when an accepted task takes a slot, and when it releases it. Each sample `x`
/// moves the estimate `e` by `e ← e + w · (x − e)` with `w` = ``weight`` (1/8), starting from
/// 0: about the last 8 events dominate, so a burst raises the load within a few tasks and an
/// idle node's estimate decays by 1/8 per offer (rejected offers included), so a node never
/// stays stuck at a high load it no longer has. The average is over events, not time: a node
/// that receives no offers keeps its last estimate.
public struct MeasuredLoad: Sendable, Hashable {
    /// The weight of each new sample.
    public static let weight = 0.125

    /// The current estimate, 0…1.
    public private(set) var estimate: Double = 0

    public init() {}

    /// Folds in the occupancy `busy / slots` (clamped to 0…1).
    public mutating func sample(busy: Int, slots: Int) {
        let occupancy = min(1, max(0, Double(busy) / Double(max(slots, 1))))
        self.estimate += Self.weight * (occupancy - self.estimate)
        self.estimate = min(1, max(0, self.estimate))
    }
}

/// Settings that keep a node's load as a number and an `auto` flag (``NodeConfiguration``, and
/// the gRPC target's `NodeSettings`): ``nodeLoad`` reads and writes the two as one ``NodeLoad``.
public protocol NodeLoadSettings {
    /// The fixed load in 0…1 (used while ``autoLoad`` is false).
    var load: Double { get set }
    /// Whether the load is measured (`"auto"`) instead of fixed.
    var autoLoad: Bool { get set }
}

extension NodeLoadSettings {
    /// ``load`` and ``autoLoad`` as one value.
    public var nodeLoad: NodeLoad {
        get { self.autoLoad ? .auto : .fixed(self.load) }
        set {
            switch newValue {
            case .auto: self.autoLoad = true
            case .fixed(let load):
                self.autoLoad = false
                self.load = load
            }
        }
    }
}
