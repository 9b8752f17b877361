import DistributedImaging

import Foundation

/// The `security` object inside the `client`, `server` and `node` sections: the shared token
/// and TLS files (see `Docs/Configuration.md`).
///
/// ```json
/// "security": { "authTokenFile": "/etc/dip/token", "tlsCertificate": "/etc/dip/cert.pem",
///               "tlsKey": "/etc/dip/key.pem", "tlsTrustRoots": "/etc/dip/ca.pem" }
/// ```
public struct SecuritySettings: Sendable, Hashable, Codable {
    /// The environment variable that holds the shared token.
    public static let environmentVariable = "DIP_AUTH_TOKEN"

    /// A file whose content (surrounding whitespace trimmed) is the shared token (flag
    /// `--auth-token-file`); unset, and no `DIP_AUTH_TOKEN`: authentication is off.
    public var authTokenFile: String?
    /// PEM certificate chain the process presents when it listens (flag `--tls-certificate`).
    public var tlsCertificate: String?
    /// PEM private key of ``tlsCertificate`` (flag `--tls-key`).
    public var tlsKey: String?
    /// PEM certificates trusted when calling a TLS peer (flag `--tls-trust-roots`); setting it
    /// turns TLS on for outgoing calls. Unset with a certificate set: the system's roots.
    public var tlsTrustRoots: String?

    /// No token, no TLS.
    public init(authTokenFile: String? = nil, tlsCertificate: String? = nil, tlsKey: String? = nil, tlsTrustRoots: String? = nil) {
        self.authTokenFile = authTokenFile
        self.tlsCertificate = tlsCertificate
        self.tlsKey = tlsKey
        self.tlsTrustRoots = tlsTrustRoots
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case authTokenFile, tlsCertificate, tlsKey, tlsTrustRoots
    }

    /// Decodes the object; unknown keys are refused.
    public init(from decoder: any Decoder) throws {
        try ConfigurationKeys.refuseUnknown(in: decoder, known: CodingKeys.allCases.map(\.rawValue), section: "security")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.authTokenFile = try container.decodeIfPresent(String.self, forKey: .authTokenFile)
        self.tlsCertificate = try container.decodeIfPresent(String.self, forKey: .tlsCertificate)
        self.tlsKey = try container.decodeIfPresent(String.self, forKey: .tlsKey)
        self.tlsTrustRoots = try container.decodeIfPresent(String.self, forKey: .tlsTrustRoots)
    }

    /// Resolves the token and TLS files into ``PeerSecurity``.
    ///
    /// The token comes from, in order: ``authTokenFile`` when it was set by a flag
    /// (`tokenFileFromFlag`), the `DIP_AUTH_TOKEN` environment variable, then ``authTokenFile``
    /// from the configuration file.
    ///
    /// - Parameters:
    ///   - tokenFileFromFlag: `--auth-token-file`, when given.
    ///   - environment: The process environment.
    ///   - section: `client`, `server` or `node`, for messages.
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`
    ///   naming the key when a file cannot be read, the token is empty, or only one of the
    ///   certificate and the key is set.
    public func resolve(tokenFileFromFlag: String?, environment: [String: String], section: String) throws -> PeerSecurity {
        var token: String?
        if let file = tokenFileFromFlag {
            token = try Self.readToken(file, key: "--auth-token-file")
        } else if let value = environment[Self.environmentVariable] {
            token = value.trimmingCharacters(in: .whitespacesAndNewlines)
            guard token?.isEmpty == false else {
                throw DistributedImagingError(code: .invalidConfiguration, message: "\(Self.environmentVariable) is set but empty")
            }
        } else if let file = self.authTokenFile {
            token = try Self.readToken(file, key: "\(section).security.authTokenFile")
        }
        guard (self.tlsCertificate == nil) == (self.tlsKey == nil) else {
            throw DistributedImagingError(
                code: .invalidConfiguration,
                message: "\(section).security: tlsCertificate (--tls-certificate) and tlsKey (--tls-key) go together; set both or neither")
        }
        for (key, path) in [("tlsCertificate", self.tlsCertificate), ("tlsKey", self.tlsKey), ("tlsTrustRoots", self.tlsTrustRoots)] {
            if let path, !FileManager.default.isReadableFile(atPath: path) {
                throw DistributedImagingError(
                    code: .invalidConfiguration, message: "\(section).security.\(key): cannot read '\(path)'")
            }
        }
        let usesTLS = self.tlsCertificate != nil || self.tlsTrustRoots != nil
        return PeerSecurity(
            authToken: token,
            tls: usesTLS
                ? PeerSecurity.TLS(certificate: self.tlsCertificate, privateKey: self.tlsKey, trustRoots: self.tlsTrustRoots)
                : nil)
    }

    private static func readToken(_ path: String, key: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DistributedImagingError(code: .invalidConfiguration, message: "\(key): cannot read '\(path)'")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else {
            throw DistributedImagingError(code: .invalidConfiguration, message: "\(key): '\(path)' is empty")
        }
        guard token.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
            throw DistributedImagingError(
                code: .invalidConfiguration, message: "\(key): the token in '\(path)' must be printable ASCII on one line")
        }
        return token
    }
}
