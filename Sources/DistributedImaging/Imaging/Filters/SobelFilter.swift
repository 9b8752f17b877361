import CImageKernels

/// Gradient magnitude, equal to
/// `cv2.convertScaleAbs(cv2.magnitude(cv2.Sobel(g, CV_32F, 1, 0, 3), cv2.Sobel(g, CV_32F, 0, 1, 3)))`
/// on the gray image `g` (colour input is converted with ``GrayscaleFilter`` first).
///
/// The 3×3 Sobel uses border reflect-101; the magnitude is `sqrtf(gx² + gy²)` in `Float`,
/// rounded half to even and clamped to 255. The output has one channel.
public struct SobelFilter: ImageFilter {
    /// Creates the filter; it has no parameters.
    public init() {}

    public func apply(to image: Image) throws -> Image {
        let gray = image.grayscaled()
        let (width, height) = try gray.cSize(for: "sobel")
        return try gray.mapped(filter: "sobel") { input, output in
            CImageKernels_sobelMagnitude(input, output, width, height)
        }
    }
}
