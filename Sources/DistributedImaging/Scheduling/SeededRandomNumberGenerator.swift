/// A small, fast, seedable random number generator (xoshiro256**, seeded through SplitMix64).
///
/// Every random choice in DistributedImaging (placements, rejections, delays) draws from one of
/// these, so a fixed seed reproduces a run exactly. Independent streams for the components of a
/// cluster come from ``init(seed:deriving:)``, which mixes a component label into the seed.
///
/// ```swift
/// var generator = SeededRandomNumberGenerator(seed: 42)
/// let coin = Double.random(in: 0..<1, using: &generator)
/// ```
///
/// - Important: Not cryptographically secure.
public struct SeededRandomNumberGenerator: RandomNumberGenerator, Sendable, Hashable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        var splitMix = SplitMix64(state: seed)
        self.state = (splitMix.next(), splitMix.next(), splitMix.next(), splitMix.next())
        if self.state == (0, 0, 0, 0) { self.state.0 = 0x9E37_79B9_7F4A_7C15 }
    }

    /// A generator for one component of a seeded system: the same `seed` and `components` always
    /// give the same sequence, different components give independent-looking sequences.
    ///
    /// - Parameters:
    ///   - seed: The system's seed.
    ///   - components: Labels naming the component, e.g. `["node", "node-1"]`.
    public init(seed: UInt64, deriving components: String...) {
        self.init(seed: Self.derive(seed: seed, components))
    }

    /// Mixes `components` into `seed`; stable across runs, platforms and Swift versions
    /// (FNV-1a over UTF-8, then the SplitMix64 finalizer).
    public static func derive(seed: UInt64, _ components: [String]) -> UInt64 {
        var value = SplitMix64.mix(seed)
        for component in components {
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in component.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01B3
            }
            value = SplitMix64.mix(value ^ hash &+ 0x9E37_79B9_7F4A_7C15)
        }
        return value
    }

    /// Mixes integers into `seed` (for per-task streams: job, task index, attempt).
    public static func derive(seed: UInt64, _ values: UInt64...) -> UInt64 {
        var value = SplitMix64.mix(seed)
        for item in values {
            value = SplitMix64.mix(value ^ SplitMix64.mix(item &+ 0x9E37_79B9_7F4A_7C15))
        }
        return value
    }

    public mutating func next() -> UInt64 {
        let result = Self.rotate(self.state.1 &* 5, 7) &* 9
        let t = self.state.1 << 17
        self.state.2 ^= self.state.0
        self.state.3 ^= self.state.1
        self.state.1 ^= self.state.2
        self.state.0 ^= self.state.3
        self.state.2 ^= t
        self.state.3 = Self.rotate(self.state.3, 45)
        return result
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.state == rhs.state }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.state.0)
        hasher.combine(self.state.1)
        hasher.combine(self.state.2)
        hasher.combine(self.state.3)
    }

    private static func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

/// SplitMix64: seeds xoshiro and mixes derived seeds.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(self.state)
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
