import DistributedImaging
import Foundation
import Testing

/// Every filter against OpenCV's output: scripts/references/make_references.py writes the inputs,
/// OpenCV's results and manifest.json into Resources/references.
@Suite("Filter exactness against OpenCV")
struct FilterExactnessTests {
    struct Reference: Decodable, Sendable, CustomTestStringConvertible {
        var input: String
        var pipeline: String
        var expected: String
        var alpha: Bool

        var testDescription: String { "\(self.input): \(self.pipeline)" }
    }

    static let directory: URL? = Bundle.module.url(forResource: "Resources", withExtension: nil)?
        .appendingPathComponent("references")

    static let references: [Reference] = {
        guard let directory, let data = try? Data(contentsOf: directory.appendingPathComponent("manifest.json")) else {
            return []
        }
        return (try? JSONDecoder().decode([Reference].self, from: data)) ?? []
    }()

    @Test("The manifest lists references for every built-in filter")
    func manifestCoversEveryFilter() {
        #expect(Self.references.count > 100)
        let named = Set(Self.references.flatMap { reference in
            reference.pipeline.split(separator: "|").map { stage in
                String(stage.split(separator: "(")[0]).trimmingCharacters(in: .whitespaces)
            }
        })
        for entry in FilterRegistry.standard.all {
            #expect(named.contains(entry.name), "no reference for '\(entry.name)'")
        }
    }

    @Test("Output equals OpenCV's (max abs difference 0)", arguments: Self.references)
    func matchesOpenCV(_ reference: Reference) throws {
        let directory = try #require(Self.directory)
        let codec = ImageCodec(keepsAlpha: reference.alpha)
        let input = try codec.decode(contentsOf: directory.appendingPathComponent(reference.input).path)
        let expected = try codec.decode(contentsOf: directory.appendingPathComponent(reference.expected).path)
        let output = try Pipeline(parsing: reference.pipeline).apply(to: input)

        try #require(
            output.width == expected.width && output.height == expected.height && output.channels == expected.channels,
            "shape \(output.width)×\(output.height)×\(output.channels), expected \(expected.width)×\(expected.height)×\(expected.channels)"
        )
        var differing = 0
        var maxDifference = 0
        var first: (x: Int, y: Int, channel: Int, got: UInt8, expected: UInt8)?
        for index in 0..<output.pixels.count where output.pixels[index] != expected.pixels[index] {
            let difference = abs(Int(output.pixels[index]) - Int(expected.pixels[index]))
            maxDifference = max(maxDifference, difference)
            if first == nil {
                let pixel = index / output.channels
                first = (pixel % output.width, pixel / output.width, index % output.channels, output.pixels[index], expected.pixels[index])
            }
            differing += 1
        }
        #expect(
            differing == 0,
            "\(differing) of \(output.pixels.count) samples differ, max abs difference \(maxDifference); first at \(first.map { "x \($0.x) y \($0.y) channel \($0.channel): \($0.got) vs \($0.expected)" } ?? "-")"
        )
    }

    static func samples(width: Int, height: Int, channels: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<(width * height * channels)).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
    }

    @Test(
        "threshold and invert, out of place and in place, on every width up to 70 (vector tails)",
        arguments: [1, 3, 4])
    func pointwiseKernels(channels: Int) throws {
        let threshold = try Pipeline(parsing: "threshold(value: 127)")
        let invert = try Pipeline(parsing: "invert")
        for width in 1...70 {
            let pixels = Self.samples(width: width, height: 3, channels: channels, seed: UInt64(width))
            let image = try Image(width: width, height: 3, channels: channels, pixels: pixels)
            let thresholded = pixels.map { $0 > 127 ? UInt8(255) : 0 }
            let inverted = pixels.map { 255 - $0 }
            #expect(try threshold.apply(to: image).pixels == thresholded, "threshold, width \(width)")
            #expect(try invert.apply(to: image).pixels == inverted, "invert, width \(width)")
            var copy = try Image(width: width, height: 3, channels: channels, pixels: pixels.map { $0 })
            #expect(try threshold.apply(unshared: consume copy).pixels == thresholded, "in place threshold, width \(width)")
            copy = try Image(width: width, height: 3, channels: channels, pixels: pixels.map { $0 })
            #expect(try invert.apply(unshared: consume copy).pixels == inverted, "in place invert, width \(width)")
            #expect(image.pixels == pixels)
        }
    }

    /// OpenCV's `blur` for 8-bit images: `(Σ k×k neighbours + k²/2) / k²`, border reflect-101
    /// (`OPENCV-DEFINITIONS.md`), written plainly.
    static func box(_ pixels: [UInt8], width: Int, height: Int, channels: Int, size k: Int) -> [UInt8] {
        func reflect(_ p: Int, _ n: Int) -> Int {
            guard n > 1 else { return 0 }
            var p = p
            while p < 0 || p >= n { p = p < 0 ? -p : 2 * (n - 1) - p }
            return p
        }
        let r = k / 2
        var out = [UInt8](repeating: 0, count: pixels.count)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels {
                    var sum = 0
                    for dy in -r...r {
                        for dx in -r...r {
                            sum += Int(pixels[(reflect(y + dy, height) * width + reflect(x + dx, width)) * channels + c])
                        }
                    }
                    out[(y * width + x) * channels + c] = UInt8((sum + k * k / 2) / (k * k))
                }
            }
        }
        return out
    }

    @Test("box on every width up to 70, sizes 3, 5 and 15 (the vector loops' tails)", arguments: [1, 3, 4])
    func boxKernelTails(channels: Int) throws {
        for size in [3, 5, 15] {
            let filter = try Pipeline(parsing: "box(size: \(size))")
            for width in 1...70 {
                let height = 1 + width % 5
                let pixels = Self.samples(width: width, height: height, channels: channels, seed: UInt64(width * 31 + size))
                let image = try Image(width: width, height: height, channels: channels, pixels: pixels)
                let expected = Self.box(pixels, width: width, height: height, channels: channels, size: size)
                #expect(try filter.apply(to: image).pixels == expected, "box(size: \(size)), \(width)×\(height)×\(channels)")
            }
        }
    }

    @Test("A pipeline never changes its input, even when its stages work in place", arguments: [
        "invert | invert", "threshold(value: 100) | invert | threshold(value: 20)", "identity | invert",
        "identity | identity | threshold", "gaussian(size: 3) | invert | invert", "resize(scale: 0.5) | invert",
    ])
    func inputUnchanged(spec: String) throws {
        let pixels = Self.samples(width: 37, height: 21, channels: 3, seed: 7)
        let image = try Image(width: 37, height: 21, channels: 3, pixels: pixels)
        let pipeline = try Pipeline(parsing: spec)
        let output = try pipeline.apply(to: image)
        #expect(image.pixels == pixels)
        let shared = image
        let fromShared = try pipeline.apply(unshared: shared)  // shared after all: copy-on-write
        #expect(image.pixels == pixels && shared.pixels == pixels)
        #expect(fromShared == output)
    }

    @Test("Pointwise stages after the first reuse the image's buffer")
    func stagesWorkInPlace() throws {
        let image = try Image(width: 64, height: 16, channels: 3, pixels: Self.samples(width: 64, height: 16, channels: 3, seed: 3))
        let expected = image.pixels.map { ($0 > 127 ? 0 : 255) > 50 ? UInt8(255) : 0 }
        let address = image.pixels.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let pipeline = try Pipeline(parsing: "threshold(value: 127) | invert | threshold(value: 50)")
        let output = try pipeline.apply(unshared: consume image)
        #expect(output.pixels == expected)
        #expect(output.pixels.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } == address)
    }

    /// CI runs this suite a second time with CIMAGEKERNELS_DISABLE_AVX2=1 to check the baseline
    /// kernels: this proves that run really used them (and that no call took the AVX2 path).
    @Test("The kernels report the path they ran: baseline only when CIMAGEKERNELS_DISABLE_AVX2 is set")
    func kernelPath() throws {
        let image = try Image(width: 40, height: 30, channels: 3, repeating: 90)
        _ = try Pipeline(parsing: "grayscale | gaussian(size: 5) | sobel").apply(to: image)
        let calls = FilterKernels.callsByPath
        let disabled = ProcessInfo.processInfo.environment["CIMAGEKERNELS_DISABLE_AVX2"].map { !$0.isEmpty && $0 != "0" } ?? false
        if disabled || !FilterKernels.usesAVX2 {
            #expect(!FilterKernels.usesAVX2)
            #expect(calls.baseline >= 3, "\(calls)")
            #expect(calls.avx2 == 0, "a kernel ran the AVX2 path: \(calls)")
        } else {
            #expect(calls.avx2 >= 3, "\(calls)")
            #expect(calls.baseline == 0, "a kernel ran the baseline path although AVX2 is on: \(calls)")
        }
    }
}

@Suite("Filters on degenerate sizes")
struct FilterEdgeCaseTests {
    @Test("Every filter accepts 1×1, 1×N and N×1 images in 1, 3 and 4 channels", arguments: [1, 3, 4])
    func tinyImages(channels: Int) throws {
        for (width, height) in [(1, 1), (1, 7), (7, 1), (2, 2)] {
            let pixels = (0..<(width * height * channels)).map { UInt8(truncatingIfNeeded: $0 &* 37) }
            let image = try Image(width: width, height: height, channels: channels, pixels: pixels)
            for entry in FilterRegistry.standard.all where entry.name != "resize" {
                let output = try Pipeline(parsing: entry.name).apply(to: image)
                #expect(output.width == width && output.height == height, "\(entry.name) on \(width)×\(height)")
                #expect(output.pixels.count == output.width * output.height * output.channels)
            }
            if width >= 2, height >= 2 {
                let half = try Pipeline(parsing: "resize").apply(to: image)
                #expect(half.width == width / 2 && half.height == height / 2)
            }
        }
    }

    @Test("resize refuses to produce an empty image")
    func resizeToNothing() throws {
        let image = try Image(width: 1, height: 9, channels: 3)
        #expect(throws: DistributedImagingError.self) { try Pipeline(parsing: "resize(scale: 0.5)").apply(to: image) }
    }

    @Test("Sobel and Canny give one channel; colour filters keep the channels")
    func channels() throws {
        let image = try Image(width: 8, height: 6, channels: 4, repeating: 90)
        #expect(try Pipeline(parsing: "sobel").apply(to: image).channels == 1)
        #expect(try Pipeline(parsing: "canny").apply(to: image).channels == 1)
        #expect(try Pipeline(parsing: "grayscale").apply(to: image).channels == 1)
        #expect(try Pipeline(parsing: "gaussian | box | sharpen | threshold | invert | edges").apply(to: image).channels == 4)
    }
}
