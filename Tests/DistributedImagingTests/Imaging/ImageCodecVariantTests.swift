import DistributedImaging
import Foundation
import Testing

/// Small PNG/JPEG variants made by scripts/references/make_codec_variants.py, each with the
/// checksum of what cv2.imread decodes.
@Suite("Image codec variants")
struct ImageCodecVariantTests {
    struct Entry: Decodable, Sendable, CustomTestStringConvertible {
        var file: String
        var width: Int
        var height: Int
        var channels: Int
        var fnv1a64: String
        var testDescription: String { self.file }
    }

    static let directory = TestPaths.resources.appendingPathComponent("codec")

    static let entries: [Entry] = {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("manifest.json")) else { return [] }
        return (try? JSONDecoder().decode([Entry].self, from: data)) ?? []
    }()

    @Test("The manifest lists the variants")
    func manifestIsPresent() {
        #expect(Self.entries.count >= 30)
    }

    @Test("Each variant decodes to the same pixels as cv2.imread", arguments: entries)
    func decodesLikeOpenCV(_ entry: Entry) throws {
        let image = try ImageCodec().decode(contentsOf: Self.directory.appendingPathComponent(entry.file).path)
        #expect(image.width == entry.width)
        #expect(image.height == entry.height)
        #expect(image.channels == entry.channels)
        #expect(String(fnv1a64(image.pixels), radix: 16).leftPadded(to: 16) == entry.fnv1a64)
    }

    @Test("keepsAlpha keeps RGBA and tRNS as a fourth channel", arguments: ["rgba8.png", "rgba8-interlaced.png", "palette4-trns.png", "gray-alpha8.png"])
    func keepsAlpha(_ file: String) throws {
        let image = try ImageCodec(keepsAlpha: true).decode(contentsOf: Self.directory.appendingPathComponent(file).path)
        #expect(image.channels == 4)
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        String(repeating: "0", count: max(0, length - self.count)) + self
    }
}
