import DistributedImaging

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The configuration file of `dip-server`, `dip-node` and `dip-client`: one JSON object with a
/// `client`, a `server` and a `node` section, each optional, every key optional (see
/// `config.example.json` and `Docs/Configuration.md`). Flags override the file.
///
/// ```swift
/// var configuration = try DeploymentConfiguration.load(path: "dip.json")
/// configuration.node.load = 0.5        // a flag
/// try configuration.node.validate()
/// ```
public struct DeploymentConfiguration: Sendable, Hashable, Codable {
    /// `dip-client submit --server`.
    public var client: ClientSettings
    /// `dip-server`.
    public var server: ServerSettings
    /// `dip-node`.
    public var node: NodeSettings

    /// Every section at its defaults.
    public init(client: ClientSettings = .init(), server: ServerSettings = .init(), node: NodeSettings = .init()) {
        self.client = client
        self.server = server
        self.node = node
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case client, server, node
    }

    /// Decodes a file; unknown keys are refused (a typo would otherwise be silently ignored).
    public init(from decoder: any Decoder) throws {
        try ConfigurationKeys.refuseUnknown(in: decoder, known: CodingKeys.allCases.map(\.rawValue), section: nil)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.client = try container.decodeIfPresent(ClientSettings.self, forKey: .client) ?? .init()
        self.server = try container.decodeIfPresent(ServerSettings.self, forKey: .server) ?? .init()
        self.node = try container.decodeIfPresent(NodeSettings.self, forKey: .node) ?? .init()
    }

    /// Reads and decodes the file at `path`.
    ///
    /// - Throws: ``DistributedImaging/DistributedImagingError`` with code `invalidConfiguration`
    ///   naming the file, the key and the problem (`notFound` when the file is missing).
    public static func load(path: String) throws -> DeploymentConfiguration {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw DistributedImagingError(code: .notFound, message: "configuration file '\(path)' cannot be read")
        }
        return try Self.decode(data, source: path)
    }

    /// Decodes a configuration from JSON bytes.
    ///
    /// - Parameter source: The file name for messages.
    public static func decode(_ data: Data, source: String = "configuration") throws -> DeploymentConfiguration {
        do {
            return try JSONDecoder().decode(DeploymentConfiguration.self, from: data)
        } catch let error as DistributedImagingError {
            throw DistributedImagingError(code: error.code, message: "\(source): \(error.message)")
        } catch let error as DecodingError {
            throw DistributedImagingError(code: .invalidConfiguration, message: "\(source): \(Self.describe(error))")
        } catch {
            throw DistributedImagingError(code: .invalidConfiguration, message: "\(source): \(DistributedImagingError.message(of: error))", cause: error)
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "key '\(path(context.codingPath))': expected \(Self.name(of: type)) (\(context.debugDescription))"
        case .valueNotFound(let type, let context):
            return "key '\(path(context.codingPath))': expected \(Self.name(of: type)), found null"
        case .keyNotFound(let key, let context):
            return "key '\(path(context.codingPath + [key]))' is required"
        case .dataCorrupted(let context):
            let at = context.codingPath.isEmpty ? "" : "key '\(path(context.codingPath))': "
            return "\(at)\(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func name(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Double.Type, is Float.Type: "a number"
        case is Int.Type, is UInt64.Type, is Int64.Type: "an integer"
        case is Bool.Type: "true or false"
        default: "\(type)"
        }
    }
}
