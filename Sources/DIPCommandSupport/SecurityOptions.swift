public import ArgumentParser
public import DistributedImagingGRPC
import Foundation

/// The authentication and TLS flags; they override the configuration file's `security` object.
public struct SecurityOptions: ParsableArguments {
    public init() {}

    @Option(name: .long, help: "A file holding the cluster's shared token (overrides DIP_AUTH_TOKEN and the config's security.authTokenFile).")
    public var authTokenFile: String?

    @Option(name: .long, help: "PEM certificate chain to present when listening (TLS; with --tls-key).")
    public var tlsCertificate: String?

    @Option(name: .long, help: "PEM private key of --tls-certificate.")
    public var tlsKey: String?

    @Option(name: .long, help: "PEM certificates to trust when calling a TLS peer; turns TLS on for outgoing calls.")
    public var tlsTrustRoots: String?

    /// The security settings: these flags over `settings`, the token by flag, environment, file.
    public func resolve(_ settings: SecuritySettings, section: String) throws -> PeerSecurity {
        var settings = settings
        if let value = self.tlsCertificate { settings.tlsCertificate = value }
        if let value = self.tlsKey { settings.tlsKey = value }
        if let value = self.tlsTrustRoots { settings.tlsTrustRoots = value }
        return try settings.resolve(
            tokenFileFromFlag: self.authTokenFile, environment: ProcessInfo.processInfo.environment, section: section)
    }
}
