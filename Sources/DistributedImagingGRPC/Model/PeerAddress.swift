import DistributedImaging
import GRPCNIOTransportHTTP2

/// A `HOST:PORT` pair: where a server or node listens, or where to reach it.
///
/// Accepts `127.0.0.1:7000`, `localhost:7000`, `[::1]:7000`, and `:7000` (all interfaces).
public struct PeerAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The host name or IP address (IPv6 without brackets).
    public var host: String
    /// The TCP port; 0 asks the system for a free one when listening.
    public var port: Int

    /// An address from its parts.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`.
    ///
    /// - Parameters:
    ///   - text: The address.
    ///   - key: The flag or configuration key it came from, for the error message.
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`
    ///   naming `key` and `text`.
    public init(parsing text: String, key: String = "address") throws {
        func bad(_ why: String) -> DistributedImagingError {
            DistributedImagingError(
                code: .invalidConfiguration, message: "\(key): '\(Echo.excerpt(text))' is not a HOST:PORT address: \(why)")
        }
        guard text.utf8.count <= Self.maxLength else {
            throw bad("longer than \(Self.maxLength) bytes")
        }
        let trimmed = String(text.filter { !$0.isWhitespace })
        let host: Substring
        let portText: Substring
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]") else { throw bad("missing ']'") }
            host = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
            let rest = trimmed[trimmed.index(after: close)...]
            guard rest.hasPrefix(":") else { throw bad("missing ':PORT' after ']'") }
            portText = rest.dropFirst()
        } else {
            guard let colon = trimmed.lastIndex(of: ":") else { throw bad("missing ':PORT'") }
            host = trimmed[..<colon]
            portText = trimmed[trimmed.index(after: colon)...]
            guard !host.contains(":") else { throw bad("write IPv6 addresses in brackets, e.g. [::1]:7000") }
        }
        guard let port = Int(portText), (0...65_535).contains(port) else {
            throw bad("the port must be a number in 0...65535")
        }
        self.host = host.isEmpty ? "0.0.0.0" : String(host)
        self.port = port
    }

    /// The longest address text accepted, in bytes (a DNS name has at most 253).
    static let maxLength = 300

    /// `HOST:PORT`, with brackets around IPv6 hosts.
    public var description: String {
        self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }

    /// Whether the host is a wildcard (`0.0.0.0` or `::`): fine to listen on, not to call.
    public var isWildcard: Bool { self.host == "0.0.0.0" || self.host == "::" || self.host.isEmpty }

    /// Whether the host is an IP literal rather than a name.
    var isIPv4: Bool {
        let parts = self.host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }

    /// The address for a server transport to bind.
    var bindAddress: GRPCNIOTransportCore.SocketAddress {
        if self.host.contains(":") { return .ipv6(host: self.host, port: self.port) }
        if self.isIPv4 { return .ipv4(host: self.host, port: self.port) }
        // Host names (e.g. localhost) are bound as given: NIO resolves them.
        return .ipv4(host: self.host == "localhost" ? "127.0.0.1" : self.host, port: self.port)
    }

    /// The target for a client transport to call.
    var target: any ResolvableTarget {
        if self.host.contains(":") { return .ipv6(address: self.host, port: self.port) }
        if self.isIPv4 { return .ipv4(address: self.host, port: self.port) }
        return .dns(host: self.host, port: self.port)
    }

    /// The address a transport reports.
    init?(_ address: GRPCNIOTransportCore.SocketAddress) {
        if let ipv4 = address.ipv4 {
            self.init(host: ipv4.host, port: ipv4.port)
        } else if let ipv6 = address.ipv6 {
            self.init(host: ipv6.host, port: ipv6.port)
        } else {
            return nil
        }
    }
}
