internal import CImageCodec

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Decodes PNG and JPEG files into ``Image`` values and encodes them back, through libpng and
/// libjpeg-turbo.
///
/// Decoding follows `cv2.imread(path, IMREAD_COLOR)` for colour images — alpha dropped, 16-bit
/// samples reduced to 8 bits, palette and tRNS expanded, CMYK/YCCK converted as OpenCV does,
/// EXIF orientation applied — except that gray images stay one channel. The format is detected
/// from the first bytes, never from the file name. Damaged input is an error: a JPEG whose scan
/// is truncated is refused rather than filled with gray.
public struct ImageCodec: Sendable {
    /// Limits checked before any large allocation.
    public struct Limits: Sendable, Hashable, Codable {
        /// The most pixels an image may declare in its header (default 100 megapixels).
        public var maxPixels: Int
        /// The largest file accepted, in bytes (default 512 MiB).
        public var maxFileBytes: Int

        public init(maxPixels: Int = 100_000_000, maxFileBytes: Int = 512 << 20) {
            self.maxPixels = maxPixels
            self.maxFileBytes = maxFileBytes
        }

        /// Limits that accept up to `megapixels` million pixels (the file size limit as default).
        ///
        /// - Throws: ``DistributedImagingError`` with code `invalidConfiguration` naming `key` unless
        ///   0 < `megapixels` ≤ 1,000,000.
        public init(maxMegapixels megapixels: Double, key: String = "maxMegapixels") throws {
            guard megapixels.isFinite, megapixels > 0, megapixels <= 1_000_000 else {
                throw DistributedImagingError.invalidConfiguration("\(key) must be 0 < megapixels <= 1000000, not \(megapixels)")
            }
            self.init(maxPixels: Int(megapixels * 1_000_000))
        }

        public static var defaults: Limits { Limits() }
    }

    /// The limits this codec enforces.
    public var limits: Limits
    /// Whether to keep an alpha channel (RGBA output) instead of dropping it as OpenCV does.
    public var keepsAlpha: Bool
    /// Whether to apply the EXIF orientation as OpenCV does (default `true`).
    public var appliesOrientation: Bool

    public init(limits: Limits = .defaults, keepsAlpha: Bool = false, appliesOrientation: Bool = true) {
        self.limits = limits
        self.keepsAlpha = keepsAlpha
        self.appliesOrientation = appliesOrientation
    }

    /// Reads and decodes the file at `path`.
    ///
    /// - Throws: ``DistributedImagingError`` naming `path` and the reason: `notFound`, `io`,
    ///   `fileTooLarge`, `invalidImage`, `unsupportedImage` or `imageTooLarge`.
    public func decode(contentsOf path: String) throws -> Image {
        let bytes = try FileIO.readFile(atPath: path, maxBytes: self.limits.maxFileBytes)
        return try self.decode(bytes, name: path)
    }

    /// Decodes a PNG or JPEG held in memory; `name` labels error messages.
    public func decode(_ bytes: [UInt8], name: String) throws -> Image {
        guard bytes.count <= self.limits.maxFileBytes else {
            throw DistributedImagingError(
                code: .fileTooLarge, message: "\(name): file of \(bytes.count) bytes exceeds the limit of \(self.limits.maxFileBytes) bytes")
        }
        var options = CImageCodec_DecodeOptions(
            max_pixels: UInt64(max(0, self.limits.maxPixels)),
            keep_alpha: self.keepsAlpha ? 1 : 0,
            apply_orientation: self.appliesOrientation ? 1 : 0
        )
        return try bytes.withUnsafeBufferPointer { data in
            var decoder: OpaquePointer?
            var info = CImageCodec_Info()
            let opened = Self.withMessage { message in
                CImageCodec_decoder_open(data.baseAddress, data.count, &options, &decoder, &info, message)
            }
            try Self.check(opened.0, message: opened.1, name: name)
            defer { CImageCodec_decoder_close(decoder) }
            let width = Int(info.width), height = Int(info.height), channels = Int(info.channels)
            var orientation: Int32 = 1
            // The decoder writes straight into the image's storage: no intermediate copy.
            let image = try Image(width: width, height: height, channels: channels) { pixels in
                let read = Self.withMessage { message in
                    CImageCodec_decoder_read(decoder, pixels.baseAddress, &orientation, message)
                }
                try Self.check(read.0, message: read.1, name: name)
            }
            return orientation == 1 ? image : image.oriented(exif: orientation)
        }
    }

    /// Encodes `image` in `format`. Encoding is deterministic: the same image and format give
    /// the same bytes.
    ///
    /// JPEG has no alpha: an RGBA image is written as RGB.
    public func encode(_ image: Image, as format: OutputFormat) throws -> [UInt8] {
        try format.validate()
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        let status: (CImageCodec_Status, String)
        switch format.kind {
        case .png:
            status = Self.withMessage { message in
                image.pixels.withUnsafeBufferPointer { pixels in
                    CImageCodec_encode_png(
                        pixels.baseAddress, Int32(image.width), Int32(image.height), Int32(image.channels),
                        Int32(format.compressionLevel), &output, &size, message)
                }
            }
        case .jpeg:
            let opaque = image.channels == 4 ? image.droppingAlpha() : image
            status = Self.withMessage { message in
                opaque.pixels.withUnsafeBufferPointer { pixels in
                    CImageCodec_encode_jpeg(
                        pixels.baseAddress, Int32(opaque.width), Int32(opaque.height), Int32(opaque.channels),
                        Int32(format.quality), &output, &size, message)
                }
            }
        }
        try Self.check(status.0, message: status.1, name: "\(image.width)×\(image.height) image")
        guard let output else {
            throw DistributedImagingError(code: .internalError, message: "the encoder returned no bytes")
        }
        defer { CImageCodec_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }

    /// The format of `bytes` judged by their signature, or `nil`.
    public static func detectFormat(_ bytes: [UInt8]) -> OutputFormat.Kind? {
        switch bytes.withUnsafeBufferPointer({ CImageCodec_detect($0.baseAddress, $0.count) }) {
        case CImageCodec_FORMAT_PNG: .png
        case CImageCodec_FORMAT_JPEG: .jpeg
        default: nil
        }
    }

    private static func withMessage(
        _ body: (UnsafeMutablePointer<CChar>) -> CImageCodec_Status
    ) -> (CImageCodec_Status, String) {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(CImageCodec_MESSAGE_SIZE)) { buffer in
            guard let base = buffer.baseAddress else { return (CImageCodec_NO_MEMORY, "out of memory") }
            base.initialize(repeating: 0, count: buffer.count)
            let status = body(base)
            return (status, String(cString: base))
        }
    }

    private static func check(_ status: CImageCodec_Status, message: String, name: String) throws {
        let code: DistributedImagingError.Code
        switch status {
        case CImageCodec_OK: return
        case CImageCodec_UNSUPPORTED: code = .unsupportedImage
        case CImageCodec_TOO_LARGE: code = .imageTooLarge
        case CImageCodec_NO_MEMORY: code = .imageTooLarge
        case CImageCodec_BAD_ARGUMENT: code = .invalidArgument
        default: code = .invalidImage
        }
        throw DistributedImagingError(code: code, message: "\(name): \(message.isEmpty ? "cannot be decoded" : message)")
    }
}

extension ImageCodec {
    /// A codec with the default limits.
    public static var `default`: ImageCodec { ImageCodec() }
}

extension Image {
    /// The image turned by an EXIF orientation (2...8) as OpenCV's `ExifTransform` does.
    fileprivate func oriented(exif orientation: Int32) -> Image {
        let swaps = orientation >= 5
        return self.pixels.withUnsafeBufferPointer { source in
            Image(width: swaps ? self.height : self.width, height: swaps ? self.width : self.height, channels: self.channels) {
                target in
                CImageCodec_orient(
                    source.baseAddress, Int32(self.width), Int32(self.height), Int32(self.channels), orientation,
                    target.baseAddress)
            }
        }
    }

    /// The image without its alpha channel (RGBA → RGB); other images unchanged.
    public func droppingAlpha() -> Image {
        guard self.channels == 4 else { return self }
        return self.pixels.withUnsafeBufferPointer { source in
            Image(width: self.width, height: self.height, channels: 3) { target in
                for index in 0..<self.pixelCount {
                    target[index * 3] = source[index * 4]
                    target[index * 3 + 1] = source[index * 4 + 1]
                    target[index * 3 + 2] = source[index * 4 + 2]
                }
            }
        }
    }
}
