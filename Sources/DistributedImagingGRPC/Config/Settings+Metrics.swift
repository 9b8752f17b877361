import DistributedImaging

extension ServerSettings {
    /// The metrics endpoint's address; `nil` when none is configured.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`
    ///   naming `server.metricsListen`.
    public func metricsAddress() throws -> PeerAddress? {
        try self.metricsListen.map { try PeerAddress(parsing: $0, key: "server.metricsListen (--metrics-listen)") }
    }
}

extension NodeSettings {
    /// The metrics endpoint's address; `nil` when none is configured.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`
    ///   naming `node.metricsListen`.
    public func metricsAddress() throws -> PeerAddress? {
        try self.metricsListen.map { try PeerAddress(parsing: $0, key: "node.metricsListen (--metrics-listen)") }
    }
}
