/// The seed project's edge overlay: `mask = cv2.Canny(cv2.blur(gray, (3, 3)), 5, 15)`; the output
/// keeps the original pixel where the mask is set and is black elsewhere.
///
/// The output has the input's channels. For RGBA input the alpha channel is kept everywhere
/// (black pixels stay opaque when the input was).
public struct EdgesFilter: ImageFilter {
    /// Creates the filter; it has no parameters.
    public init() {}

    public func apply(to image: Image) throws -> Image {
        let blurred = try BoxFilter(size: 3).apply(to: image.grayscaled())
        let mask = try CannyFilter(low: 5, high: 15).apply(to: blurred)
        let channels = image.channels
        return Image(width: image.width, height: image.height, channels: channels) { output in
            image.pixels.withUnsafeBufferPointer { input in
                mask.pixels.withUnsafeBufferPointer { mask in
                    for pixel in 0..<mask.count {
                        let keep: UInt8 = mask[pixel] == 0 ? 0 : 0xFF
                        let base = pixel &* channels
                        for channel in 0..<channels {
                            let alpha: UInt8 = channel == 3 ? 0xFF : 0
                            output[base &+ channel] = input[base &+ channel] & (keep | alpha)
                        }
                    }
                }
            }
        }
    }
}
