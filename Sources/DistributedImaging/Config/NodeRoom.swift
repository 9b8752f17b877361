/// How many tasks the server keeps on one node at once, over all its jobs: the node's slots and
/// a queue behind them (`server.nodeRoom`, `--node-room`; default 2 per slot).
///
/// With a bound, a node that is full is passed over until one of its tasks ends. A slow node
/// therefore fills up and is skipped, so even ``RandomPlacement`` sends more tasks to faster
/// nodes, and a node that stops answering holds at most its room until its missed health
/// checks drop it. ``unbounded`` is the seed's dispatch: the server sends each task where
/// placement picks and the node queues whatever it is sent; only the dispatch bound
/// (``ServerConfiguration/maxConcurrentTasks``) limits what is in flight, and how evenly the
/// nodes finish depends on the placement alone.
public enum NodeRoom: Sendable, Hashable, CustomStringConvertible {
    /// At most this many tasks per slot of the node (1...1000; a node with unbounded slots
    /// counts as ``NodeConfiguration/defaultMaxConcurrentTasks`` slots).
    case perSlot(Int)
    /// No per-node bound.
    case unbounded

    /// The default: twice the node's slots (its slots plus a queue as long).
    public static let `default` = NodeRoom.perSlot(2)
    /// The accepted tasks per slot.
    public static let perSlotRange = 1...1000
    /// The key and flag errors name.
    public static let settingKey = "server.nodeRoom (--node-room)"

    /// The most tasks a node with `slots` slots (`nil`: unbounded) may hold; `Int.max` for
    /// ``unbounded``. Saturates rather than overflows for any `slots` a node may advertise.
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

    /// `2`, or `unbounded`.
    public var description: String {
        switch self {
        case .perSlot(let perSlot): String(perSlot)
        case .unbounded: "unbounded"
        }
    }

    /// Parses a tasks-per-slot count (`1`...`1000`) or `unbounded`.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` naming `key` and the
    ///   value.
    public init(parsing text: String, key: String = Self.settingKey) throws {
        if text == "unbounded" {
            self = .unbounded
        } else if let perSlot = Int(text), Self.perSlotRange.contains(perSlot) {
            self = .perSlot(perSlot)
        } else {
            throw DistributedImagingError.invalidConfiguration(
                "\(key): must be a number of tasks per slot, 1...1000, or 'unbounded', not '\(text)'")
        }
    }

    /// Checks a value built in code.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` naming `key`.
    public func validate(key: String = Self.settingKey) throws {
        if case .perSlot(let perSlot) = self, !Self.perSlotRange.contains(perSlot) {
            throw DistributedImagingError.invalidConfiguration(
                "\(key): must be a number of tasks per slot, 1...1000, or 'unbounded', not \(perSlot)")
        }
    }
}

extension NodeRoom: Codable {
    /// Decodes a number of tasks per slot or the string `unbounded` (a number as a string, too).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let perSlot = try? container.decode(Int.self) {
            self = .perSlot(perSlot)
            try self.validate()
        } else {
            self = try NodeRoom(parsing: try container.decode(String.self))
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
