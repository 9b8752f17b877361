extension Duration {
    /// The duration in seconds, as a `Double`.
    package var seconds: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// The duration in seconds as short text (`30`, `0.5`).
    package var secondsText: String {
        let value = self.seconds
        return value == value.rounded() ? String(Int(value)) : String(value)
    }

    /// A duration from seconds given as a `Double`.
    package static func seconds(double value: Double) -> Duration {
        .nanoseconds(Int64((value * 1e9).rounded()))
    }
}
