extension Duration {
    /// The duration in seconds as short text (`30`, `0.5`).
    var secondsText: String {
        let value = self.seconds
        return value == value.rounded() ? String(Int(value)) : String(value)
    }
}
