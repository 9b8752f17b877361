import DistributedImaging
import GRPCNIOTransportHTTP2

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
    ///
    /// The NIO transport binds IP addresses only, so a host name (`localhost`, `myhost`) is
    /// resolved first, as ``resolvedForListening(key:)`` does: its first IPv4 address, else its
    /// first IPv6 one. The settings' `listenAddress()` already refuses a name that does not
    /// resolve; one that reaches here anyway is passed on unresolved and the bind fails
    /// ("cannot listen on …").
    var bindAddress: GRPCNIOTransportCore.SocketAddress {
        let address = (try? self.resolvedForListening()) ?? self
        if address.host.contains(":") { return .ipv6(host: address.host, port: address.port) }
        return .ipv4(host: address.host, port: address.port)
    }

    /// This address with a host name replaced by the IP address to bind.
    ///
    /// An IP literal or wildcard is returned as it is. A name is resolved with `getaddrinfo`
    /// (`/etc/hosts`, then DNS); the first IPv4 address wins, else the first IPv6 one. Only
    /// that one address is bound, not every address of the name.
    ///
    /// - Parameter key: The flag or configuration key the address came from, for the message.
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`
    ///   naming `key` when the name does not resolve.
    public func resolvedForListening(key: String = "address") throws -> PeerAddress {
        try self.resolvedForListening(key: key, resolve: Self.resolve)
    }

    /// ``resolvedForListening(key:)`` with the resolver injected (tests); `resolve` returns the
    /// numeric addresses of a name in the system's order, or an error message.
    func resolvedForListening(
        key: String, resolve: (String) -> Result<[String], ResolutionFailure>
    ) throws -> PeerAddress {
        if self.isWildcard || self.host.contains(":") || self.isIPv4 { return self }
        let failure: String
        switch resolve(self.host) {
        case .success(let addresses):
            if let chosen = addresses.first(where: { !$0.contains(":") }) ?? addresses.first {
                return PeerAddress(host: chosen, port: self.port)
            }
            failure = "no addresses"
        case .failure(let error):
            failure = error.message
        }
        throw DistributedImagingError(
            code: .invalidConfiguration,
            message: "\(key): cannot listen on '\(self)': the host name '\(self.host)' does not resolve (\(failure)); "
                + "pass an IP address such as 127.0.0.1 or 0.0.0.0")
    }

    /// Why a name did not resolve.
    struct ResolutionFailure: Error {
        var message: String
    }

    /// The numeric IPv4 and IPv6 addresses of `name`, by `getaddrinfo`, in its order.
    static func resolve(_ name: String) -> Result<[String], ResolutionFailure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, nil, &hints, &list)
        guard status == 0, let first = list else {
            return .failure(ResolutionFailure(message: String(cString: gai_strerror(status))))
        }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            cursor = entry.pointee.ai_next
            guard let socketAddress = entry.pointee.ai_addr,
                entry.pointee.ai_family == AF_INET || entry.pointee.ai_family == AF_INET6
            else { continue }
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            let result = getnameinfo(
                socketAddress, entry.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST)
            guard result == 0 else { continue }
            let text = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !addresses.contains(text) { addresses.append(text) }
        }
        return .success(addresses)
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
