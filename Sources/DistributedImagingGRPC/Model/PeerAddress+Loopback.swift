extension PeerAddress {
    /// Whether the address can only be reached from this machine (`127.0.0.0/8`, `::1`,
    /// `localhost`).
    public var isLoopback: Bool {
        self.host == "localhost" || self.host == "::1" || self.host.hasPrefix("127.")
    }
}
