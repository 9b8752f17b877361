import DistributedImaging
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging

/// How a process secures its gRPC traffic: a shared bearer token checked on every call, and
/// optionally TLS.
///
/// With an ``authToken`` every outgoing call carries the metadata `authorization: Bearer <token>`
/// and every incoming call without that exact value is refused with `UNAUTHENTICATED`
/// (``DistributedImaging/DistributedImagingError/Code/unauthenticated``). With ``tls`` the listening
/// side presents ``TLS/certificate`` and the calling side trusts ``TLS/trustRoots`` (the system's
/// roots when unset).
///
/// ```swift
/// let security = PeerSecurity(authToken: "s3cret", tls: .init(trustRoots: "/etc/dip/ca.pem"))
/// let submitter = try GRPCJobSubmitter(server: address, security: security)
/// ```
public struct PeerSecurity: Sendable, Hashable {
    /// PEM files for TLS.
    public struct TLS: Sendable, Hashable {
        /// The certificate (chain) a listening process presents.
        public var certificate: String?
        /// The private key of ``certificate``.
        public var privateKey: String?
        /// The certificates a calling process trusts; `nil` trusts the system's roots.
        public var trustRoots: String?

        /// TLS files.
        public init(certificate: String? = nil, privateKey: String? = nil, trustRoots: String? = nil) {
            self.certificate = certificate
            self.privateKey = privateKey
            self.trustRoots = trustRoots
        }
    }

    /// The shared token; `nil` turns authentication off.
    public var authToken: String?
    /// TLS settings; `nil` for plaintext.
    public var tls: TLS?

    /// Creates security settings.
    public init(authToken: String? = nil, tls: TLS? = nil) {
        self.authToken = authToken
        self.tls = tls
    }

    /// No token, no TLS.
    public static var none: Self { Self() }

    /// Whether the listening side serves TLS (a certificate and key are set).
    public var servesTLS: Bool { self.tls?.certificate != nil && self.tls?.privateKey != nil }

    /// Whether a node's task port may be used: it has neither TLS nor a token, so only with
    /// neither configured (``TaskPortListener``).
    public var allowsTaskPort: Bool { self.authToken == nil && self.tls == nil }

    /// The interceptors a calling process installs.
    var clientInterceptors: [any ClientInterceptor] {
        self.authToken.map { [BearerTokenClientInterceptor(token: $0)] } ?? []
    }

    /// The interceptors a listening process installs.
    func serverInterceptors(logger: Logger?) -> [any ServerInterceptor] {
        self.authToken.map { [BearerTokenServerInterceptor(token: $0, logger: logger)] } ?? []
    }

    /// The client transport security for these settings.
    var clientTransportSecurity: HTTP2ClientTransport.Posix.TransportSecurity {
        guard let tls = self.tls else { return .plaintext }
        return .tls { config in
            if let roots = tls.trustRoots {
                config.trustRoots = .certificates([.file(path: roots, format: .pem)])
            }
        }
    }

    /// The server transport security for these settings.
    var serverTransportSecurity: HTTP2ServerTransport.Posix.TransportSecurity {
        guard let tls = self.tls, let certificate = tls.certificate, let key = tls.privateKey else { return .plaintext }
        return .tls(certificateChain: [.file(path: certificate, format: .pem)], privateKey: .file(path: key, format: .pem))
    }

    /// A gRPC client to `address` with these settings.
    ///
    /// - Parameters:
    ///   - peer: The peer's description, for errors.
    ///   - keepalive: When set, HTTP/2 pings detect a peer that stopped answering: pinged after
    ///     this long without data (at least 10 s), given this long to answer.
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`.
    func makeClient(
        to address: PeerAddress, peer: String, keepalive: Duration? = nil
    ) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
        do {
            let transport = try HTTP2ClientTransport.Posix(
                target: address.target, transportSecurity: self.clientTransportSecurity,
                config: .defaults { config in
                    if let keepalive {
                        // Pings at most every 10 s (servers allow one per 5 s). Also without
                        // calls: the transport stops the ping timer when the last call closes
                        // and does not restart it for the next one.
                        config.connection.keepalive = .init(
                            time: max(keepalive, .seconds(10)), timeout: keepalive, allowWithoutCalls: true)
                    }
                })
            return GRPCClient(transport: transport, interceptors: self.clientInterceptors)
        } catch {
            throw DistributedImagingError(code: .invalidConfiguration, message: "\(peer): \(DistributedImagingError.message(of: error))", cause: error)
        }
    }
}
