import Foundation

/// How many tasks the server keeps on one node at once, over all its jobs: the node's slots and
/// a queue behind them (`server.nodeRoom`, `--node-room`; default 2 per slot).
///
/// With a bound, a node that is full is passed over until one of its tasks ends. A slow node
/// therefore fills up and is skipped, so even ``RandomPlacement`` sends more tasks to faster
/// nodes, and a node that stops answering holds at most its room until its missed health
/// checks drop it. ``unbounded`` is the seed's dispatch: each task goes where placement picks
/// and waits for that node, however many it already has; only the dispatch bound
/// (``ServerConfiguration/maxConcurrentTasks``) limits what is in flight, and how evenly the
/// nodes finish depends on the placement alone. (Where the tasks wait depends on the transport:
/// in process, in the node's queue; over gRPC at most 64 calls per node connection are open and
/// the rest wait in the server, still bound to that node.)
public enum NodeRoom: Sendable, Hashable, CustomStringConvertible {
    /// At most this many tasks per slot of the node (1...1000; a node with unbounded slots, or
    /// one that has not told its slots, counts as ``NodeConfiguration/defaultMaxConcurrentTasks``).
    case perSlot(Int)
    /// No per-node bound.
    case unbounded

    /// The default: twice the node's slots (its slots plus a queue as long).
    public static let `default` = NodeRoom.perSlot(2)
    /// The accepted tasks per slot.
    public static let perSlotRange = 1...1000
    /// The key and flag errors name.
    public static let settingKey = "server.nodeRoom (--node-room)"

    /// The most tasks a node with `slots` slots (`nil`: unbounded or unknown) may hold;
    /// `Int.max` for ``unbounded``. Saturates rather than overflows for any `slots` a node may
    /// advertise.
    public func limit(slots: Int?) -> Int {
        switch self {
        case .unbounded:
            return .max
        case .perSlot(let perSlot):
            let (limit, overflow) = max(1, perSlot).multipliedReportingOverflow(
                by: max(1, slots ?? NodeConfiguration.defaultMaxConcurrentTasks))
            return overflow ? .max : limit
        }
    }

    /// The most tasks nodes with `slots` may hold together: the sum of their limits, `Int.max`
    /// when it does not fit (always with ``unbounded``).
    public func capacity(slots: some Sequence<Int?>) -> Int {
        var total = 0
        for slots in slots {
            let (sum, overflow) = total.addingReportingOverflow(self.limit(slots: slots))
            if overflow { return .max }
            total = sum
        }
        return total
    }

    /// `2`, or `unbounded`.
    public var description: String {
        switch self {
        case .perSlot(let perSlot): String(perSlot)
        case .unbounded: "unbounded"
        }
    }

    /// What a value must be, and what it was (`shown`) when that can be shown.
    static func expected(not shown: String?) -> String {
        "must be a whole number of tasks per slot in \(Self.perSlotRange.lowerBound)...\(Self.perSlotRange.upperBound), "
            + "or \"unbounded\"" + (shown.map { ", not \($0)" } ?? "")
    }

    /// Parses a tasks-per-slot count (`1`...`1000`) or `unbounded` (either case, spaces around
    /// ignored).
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` naming `key` and the
    ///   value.
    public init(parsing text: String, key: String = Self.settingKey) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.lowercased() == "unbounded" {
            self = .unbounded
        } else if let perSlot = Int(trimmed), Self.perSlotRange.contains(perSlot) {
            self = .perSlot(perSlot)
        } else {
            throw DistributedImagingError.invalidConfiguration("\(key): \(Self.expected(not: "'\(Echo.excerpt(text, limit: 40))'"))")
        }
    }

    /// Checks a value built in code.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` naming `key`.
    public func validate(key: String = Self.settingKey) throws {
        if case .perSlot(let perSlot) = self, !Self.perSlotRange.contains(perSlot) {
            throw DistributedImagingError.invalidConfiguration("\(key): \(Self.expected(not: String(perSlot)))")
        }
    }
}

extension NodeRoom: Codable {
    /// Decodes a whole number of tasks per slot, or the string `unbounded` (a number written as
    /// a string too).
    ///
    /// - Throws: `DecodingError.dataCorrupted` saying what the value must be, and what it was.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            guard let perSlot = Int(exactly: number), Self.perSlotRange.contains(perSlot) else {
                let shown = Int(exactly: number).map(String.init) ?? "\(number)"
                throw DecodingError.dataCorruptedError(in: container, debugDescription: Self.expected(not: shown))
            }
            self = .perSlot(perSlot)
        } else if let text = try? container.decode(String.self) {
            do {
                self = try NodeRoom(parsing: text, key: "nodeRoom")
            } catch let error as DistributedImagingError {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
            }
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: Self.expected(not: nil))
        }
    }

    /// Encodes a number of tasks per slot, or `unbounded`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .perSlot(let perSlot): try container.encode(perSlot)
        case .unbounded: try container.encode("unbounded")
        }
    }
}
