import Foundation
import Logging
@testable import DistributedImaging

/// A fresh directory under the system's temporary directory, removed when `body` returns.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let base = FileManager.default.temporaryDirectory.path
    let path = "\(base)/dip-tests-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    // Resolve /tmp → /private/tmp and the like so that paths compare equal.
    let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    return try await body(resolved)
}

enum TestImages {
    /// A small deterministic RGB image; `variant` changes the pixels.
    static func image(width: Int = 4, height: Int = 3, variant: Int = 0) throws -> Image {
        let pixels = (0..<(width * height * 3)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ variant &* 11) }
        return try Image(width: width, height: height, channels: 3, pixels: pixels)
    }

    /// Writes `count` tiny PNGs named `img-0000.png`… into `directory` (created if needed).
    @discardableResult
    static func writePNGs(count: Int, into directory: String, size: Int = 4) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return try (0..<count).map { index in
            let name = "img-\(String(format: "%04d", index)).png"
            try self.write(try self.image(width: size, height: size, variant: index), as: .png, to: "\(directory)/\(name)")
            return name
        }
    }

    static func write(_ image: Image, as format: OutputFormat, to path: String) throws {
        let bytes = try ImageCodec.default.encode(image, as: format)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func write(text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }
}

/// A logger that drops everything.
let silentLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
