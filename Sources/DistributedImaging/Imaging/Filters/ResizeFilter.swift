/// Downscaling by area averaging, equal to
/// `cv2.resize(img, (⌊W·scale⌋, ⌊H·scale⌋), interpolation=cv2.INTER_AREA)`.
///
/// - When both W/W′ and H/H′ are whole numbers (for example `scale: 0.5` on even sizes), OpenCV
///   averages integer blocks: a 2×2 block is `(a + b + c + d + 2) >> 2`, a larger block the sum
///   divided by its area, rounded half to even.
/// - Otherwise (odd sizes, other factors) OpenCV weighs each source pixel by the area it covers,
///   in `Float`; this filter repeats that computation in the same order.
///
/// Every channel (alpha included) is resized alike. `scale` is at most 1 (downscaling only).
public struct ResizeFilter: ImageFilter {
    /// The factor applied to both sides.
    public let scale: Double

    /// Scales both sides by `scale`.
    ///
    /// - Throws: `invalidArgument` unless `scale` is in 0.001...1.
    public init(scale: Double) throws {
        guard scale >= 0.001, scale <= 1 else {
            throw DistributedImagingError.invalidArgument("resize: scale must be in 0.001...1, not \(scale)")
        }
        self.scale = scale
    }

    public func apply(to image: Image) throws -> Image {
        let width = Int((Double(image.width) * self.scale).rounded(.down))
        let height = Int((Double(image.height) * self.scale).rounded(.down))
        guard width >= 1, height >= 1 else {
            throw DistributedImagingError.invalidArgument(
                "resize: scale \(self.scale) makes the \(image.width)×\(image.height) image empty")
        }
        return try AreaResampler.resize(image, width: width, height: height)
    }
}
