import CImageKernels

/// Binary threshold, equal to `cv2.threshold(img, value, 255, cv2.THRESH_BINARY)`:
/// `v > ⌊value⌋ → 255`, otherwise 0, on every channel (alpha included).
public struct ThresholdFilter: ImageFilter {
    /// Samples strictly above `⌊value⌋` become 255.
    public let value: Double

    /// A binary threshold at `value`.
    ///
    /// - Throws: `invalidArgument` unless `value` is in 0...255.
    public init(value: Double) throws {
        guard value >= 0, value <= 255 else {
            throw DistributedImagingError.invalidArgument("threshold: value must be in 0...255, not \(value)")
        }
        self.value = value
    }

    private var limit: UInt8 { UInt8(self.value.rounded(.down)) }

    public func apply(to image: Image) throws -> Image {
        let limit = self.limit
        return Image(width: image.width, height: image.height, channels: image.channels) { output in
            image.pixels.withUnsafeBufferPointer { input in
                CImageKernels_threshold(input.baseAddress, output.baseAddress, input.count, limit)
            }
        }
    }
}

extension ThresholdFilter: InPlaceImageFilter {
    func apply(inPlace image: inout Image) {
        let limit = self.limit
        image.pixels.withUnsafeMutableBufferPointer { pixels in
            CImageKernels_threshold(pixels.baseAddress, pixels.baseAddress, pixels.count, limit)
        }
    }
}
