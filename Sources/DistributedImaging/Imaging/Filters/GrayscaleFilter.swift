import CImageKernels

/// Converts to one-channel luma, equal to `cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)`:
/// `Y = (9798·R + 19235·G + 3735·B + 16384) >> 15`.
///
/// Gray input is returned unchanged; the alpha channel of RGBA input is dropped.
public struct GrayscaleFilter: ImageFilter {
    /// Creates the filter; it has no parameters.
    public init() {}

    public func apply(to image: Image) throws -> Image {
        image.grayscaled()
    }
}

extension Image {
    /// The luma of this image (itself when it is already gray).
    func grayscaled() -> Image {
        guard self.channels != 1 else { return self }
        return Image(width: self.width, height: self.height, channels: 1) { output in
            self.pixels.withUnsafeBufferPointer { input in
                CImageKernels_grayscale(input.baseAddress, output.baseAddress, self.pixelCount, Int32(self.channels))
            }
        }
    }
}
