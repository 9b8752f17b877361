/// `255 − v` on every channel; equal to `cv2.bitwise_not`.
public struct InvertFilter: ImageFilter {
    /// Creates the filter; it has no parameters.
    public init() {}

    public func apply(to image: Image) throws -> Image {
        Image(width: image.width, height: image.height, channels: image.channels) { output in
            image.pixels.withUnsafeBufferPointer { input in
                for index in 0..<input.count { output[index] = ~input[index] }
            }
        }
    }
}
