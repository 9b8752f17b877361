import CImageKernels

/// 3×3 sharpen with the kernel `[[0, −1, 0], [−1, 5, −1], [0, −1, 0]]`, clamped to 0...255:
/// equal to `cv2.filter2D(img, -1, kernel)` (border reflect-101). Every channel (alpha included)
/// is filtered alike.
public struct SharpenFilter: ImageFilter {
    /// Creates the filter; it has no parameters.
    public init() {}

    public func apply(to image: Image) throws -> Image {
        let (width, height) = try image.cSize(for: "sharpen")
        return try image.mapped(filter: "sharpen") { input, output in
            CImageKernels_sharpen(input, output, width, height, Int32(image.channels))
        }
    }
}
