import CImageKernels

/// `255 − v` on every channel; equal to `cv2.bitwise_not`.
public struct InvertFilter: ImageFilter {
    /// Creates the filter; it has no parameters.
    public init() {}

    public func apply(to image: Image) throws -> Image {
        Image(width: image.width, height: image.height, channels: image.channels) { output in
            image.pixels.withUnsafeBufferPointer { input in
                CImageKernels_invert(input.baseAddress, output.baseAddress, input.count)
            }
        }
    }
}

extension InvertFilter: InPlaceImageFilter {
    func apply(inPlace image: inout Image) {
        image.pixels.withUnsafeMutableBufferPointer { pixels in
            CImageKernels_invert(pixels.baseAddress, pixels.baseAddress, pixels.count)
        }
    }
}
