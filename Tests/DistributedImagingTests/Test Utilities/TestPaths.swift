import Foundation

/// Paths the tests read, all inside the package: the test corpus (`Tests/Corpus`) and the
/// test target's resources.
enum TestPaths {
    /// The package root (the folder holding Package.swift).
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    /// `Tests/Corpus`: the real public images the tests read (licences in its `SOURCES.md`).
    static let corpus: URL = packageRoot.appendingPathComponent("Tests/Corpus")

    /// The test target's `Resources` folder as copied into the test bundle.
    static let resources: URL = Bundle.module.bundleURL.appendingPathComponent("Resources")

    static func corpusFile(_ relativePath: String) -> String { corpus.appendingPathComponent(relativePath).path }
}

/// FNV-1a, 64 bits: the checksum scripts/references/decode_checksums.py prints.
func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01B3
    }
    return hash
}
