/// The file format a job writes its outputs in.
public struct OutputFormat: Sendable, Codable, Hashable, CustomStringConvertible {
    /// The container.
    public enum Kind: String, Sendable, Codable, Hashable, CaseIterable {
        case png
        case jpeg
    }

    /// PNG or JPEG.
    public var kind: Kind
    /// JPEG quality, 1...100 (default 95, as OpenCV).
    public var quality: Int
    /// PNG zlib compression level, 0...9 (default 1, as OpenCV).
    public var compressionLevel: Int

    public init(kind: Kind, quality: Int = 95, compressionLevel: Int = 1) {
        self.kind = kind
        self.quality = quality
        self.compressionLevel = compressionLevel
    }

    /// PNG at the given zlib level (default 1).
    public static func png(compressionLevel: Int = 1) -> OutputFormat { OutputFormat(kind: .png, compressionLevel: compressionLevel) }
    /// PNG at zlib level 1.
    public static var png: OutputFormat { .png() }
    /// JPEG at the given quality (default 95).
    public static func jpeg(quality: Int = 95) -> OutputFormat { OutputFormat(kind: .jpeg, quality: quality) }

    /// The file extension outputs get: `png` or `jpg`.
    public var fileExtension: String { self.kind == .png ? "png" : "jpg" }

    public var description: String {
        self.kind == .png ? "png (level \(self.compressionLevel))" : "jpeg (quality \(self.quality))"
    }

    /// Checks the ranges.
    public func validate() throws {
        guard (1...100).contains(self.quality) else {
            throw DistributedImagingError.invalidArgument("JPEG quality must be 1...100, not \(self.quality)")
        }
        guard (0...9).contains(self.compressionLevel) else {
            throw DistributedImagingError.invalidArgument("PNG compression level must be 0...9, not \(self.compressionLevel)")
        }
    }
}
