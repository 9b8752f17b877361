/// The instant of the test clocks (``GateClock``, ``ImmediateClock``): an offset from the clock's
/// start.
struct OffsetInstant: InstantProtocol {
    var offset: Duration

    func advanced(by duration: Duration) -> OffsetInstant { OffsetInstant(offset: self.offset + duration) }
    func duration(to other: OffsetInstant) -> Duration { other.offset - self.offset }
    static func < (lhs: OffsetInstant, rhs: OffsetInstant) -> Bool { lhs.offset < rhs.offset }
}
