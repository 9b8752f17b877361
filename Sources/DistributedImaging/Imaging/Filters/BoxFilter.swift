import CImageKernels

/// Normalised box blur, equal to `cv2.blur(img, (size, size))` (border reflect-101):
/// `out = round(Σ size×size neighbours / size²)`; every channel (alpha included) alike.
///
/// Only odd sizes are accepted: OpenCV's even sizes shift the window and round some sums
/// differently, which this filter does not reproduce.
public struct BoxFilter: ImageFilter {
    /// Window side (odd).
    public let size: Int

    /// A `size`×`size` box filter.
    ///
    /// - Throws: `invalidArgument` unless `size` is odd and in 1...255.
    public init(size: Int) throws {
        guard size >= 1, size <= 255, size % 2 == 1 else {
            throw DistributedImagingError.invalidArgument(
                "box: size must be odd and in 1...255, not \(size) (even sizes are not supported)")
        }
        self.size = size
    }

    public func apply(to image: Image) throws -> Image {
        let (width, height) = try image.cSize(for: "box")
        return try image.mapped(filter: "box") { input, output in
            CImageKernels_box(input, output, width, height, Int32(image.channels), Int32(self.size))
        }
    }
}
