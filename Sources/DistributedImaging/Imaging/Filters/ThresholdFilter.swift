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

    public func apply(to image: Image) throws -> Image {
        let limit = UInt8(self.value.rounded(.down))
        return Image(width: image.width, height: image.height, channels: image.channels) { output in
            image.pixels.withUnsafeBufferPointer { input in
                for index in 0..<input.count {
                    // 0 &- 1 = 255: branch-free, so the loop vectorises
                    output[index] = 0 &- UInt8(truncatingIfNeeded: (input[index] > limit) ? 1 : 0)
                }
            }
        }
    }
}
