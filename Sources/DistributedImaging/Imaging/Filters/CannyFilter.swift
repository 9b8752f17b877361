import CImageKernels

/// Canny edges, equal to `cv2.Canny(g, low, high)` (aperture 3, L1 gradient `|dx| + |dy|`) on the
/// gray image `g` (colour input is converted with ``GrayscaleFilter`` first). Output: one channel,
/// 0 or 255.
///
/// As in OpenCV: the thresholds are floored to integers (and swapped if `low > high`), the
/// internal Sobel uses border replicate, no blur is applied, non-maximum suppression uses
/// tan 22.5° in Q15 and hysteresis follows 8-connected neighbours.
public struct CannyFilter: ImageFilter {
    /// Lower hysteresis threshold: weaker gradients are never edges.
    public let low: Double
    /// Upper threshold: stronger gradients always are.
    public let high: Double

    /// Canny with the given hysteresis thresholds (swapped when `low > high`).
    ///
    /// - Throws: `invalidArgument` when a threshold is negative, above 1000000 or not finite.
    public init(low: Double, high: Double) throws {
        guard low.isFinite, high.isFinite, low >= 0, high >= 0, low <= 1e6, high <= 1e6 else {
            throw DistributedImagingError.invalidArgument("canny: thresholds must be in 0...1000000")
        }
        self.low = min(low, high)
        self.high = max(low, high)
    }

    public func apply(to image: Image) throws -> Image {
        let gray = image.grayscaled()
        let (width, height) = try gray.cSize(for: "canny")
        let low = Int32(self.low.rounded(.down))
        let high = Int32(self.high.rounded(.down))
        return try gray.mapped(filter: "canny") { input, output in
            CImageKernels_canny(input, output, width, height, low, high)
        }
    }
}
