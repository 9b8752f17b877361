/// An 8-bit image in one contiguous buffer.
///
/// Pixels are stored row by row with no padding; a pixel's channels are interleaved in the order
/// gray (1 channel), RGB (3) or RGBA (4). `pixels.count == width * height * channels` always holds.
public struct Image: Sendable, Hashable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// Samples per pixel: 1 (gray), 3 (RGB) or 4 (RGBA).
    public let channels: Int
    /// The samples, `width * height * channels` of them.
    public var pixels: [UInt8]

    /// Creates an image from its samples.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidArgument` when the sizes do not agree.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) throws {
        guard width > 0, height > 0 else {
            throw DistributedImagingError.invalidArgument("image size \(width)×\(height) is empty")
        }
        guard channels == 1 || channels == 3 || channels == 4 else {
            throw DistributedImagingError.invalidArgument("an image has 1, 3 or 4 channels, not \(channels)")
        }
        guard pixels.count == width * height * channels else {
            throw DistributedImagingError.invalidArgument(
                "\(width)×\(height)×\(channels) image needs \(width * height * channels) samples, got \(pixels.count)"
            )
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// Creates an image of the given size with every sample set to `value`.
    public init(width: Int, height: Int, channels: Int, repeating value: UInt8 = 0) throws {
        try self.init(
            width: width,
            height: height,
            channels: channels,
            pixels: [UInt8](repeating: value, count: max(0, width * height * channels))
        )
    }

    /// Creates an image, filling the buffer through `initializer`; used by filters to avoid zeroing.
    package init(
        width: Int,
        height: Int,
        channels: Int,
        unsafeUninitializedPixels initializer: (inout UnsafeMutableBufferPointer<UInt8>) throws -> Void
    ) rethrows {
        self.width = width
        self.height = height
        self.channels = channels
        let count = width * height * channels
        self.pixels = try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            try initializer(&buffer)
            initialized = count
        }
    }

    /// Number of pixels (`width * height`).
    public var pixelCount: Int { self.width * self.height }

    /// Samples per row (`width * channels`).
    public var rowStride: Int { self.width * self.channels }
}
