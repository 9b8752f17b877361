import DistributedImaging

/// Refuses keys a section does not know, so typos fail loudly.
enum ConfigurationKeys {
    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static func refuseUnknown(in decoder: any Decoder, known: [String], section: String?) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        let unknown = container.allKeys.map(\.stringValue).filter { !known.contains($0) }.sorted()
        guard let first = unknown.first else { return }
        let name = section.map { "\($0).\(first)" } ?? first
        throw DistributedImagingError(
            code: .invalidConfiguration,
            message: "unknown key '\(name)'; known keys\(section.map { " of '\($0)'" } ?? ""): \(known.joined(separator: ", "))")
    }
}
