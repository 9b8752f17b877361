/// `255 − v` on every channel; equal to `cv2.bitwise_not`.
public struct InvertFilter: ImageFilter {
    public init() {}

    public func apply(to image: Image) throws -> Image {
        var output = image
        output.pixels.withUnsafeMutableBufferPointer { samples in
            for index in samples.indices { samples[index] = ~samples[index] }
        }
        return output
    }
}
