import CImageKernels
import Foundation

/// Gaussian blur, equal to OpenCV's 8-bit `cv2.GaussianBlur` (border reflect-101).
///
/// - `GaussianFilter(sigma: s)` is `GaussianBlur(img, (0, 0), s)`: the kernel has
///   `n = round(6s + 1) | 1` taps (σ = 2 → 13).
/// - `GaussianFilter(size: n)` is `GaussianBlur(img, (n, n), 0)`: n = 3, 5, 7 use OpenCV's fixed
///   tables (`[1 2 1]/4`, `[1 4 6 4 1]/16`, `[1 3.5 7 9 7 3.5 1]/32`); larger n use
///   `σ = 0.3·((n − 1)/2 − 1) + 0.8`.
///
/// Taps are quantised to 1/256 with OpenCV's error diffusion from the outer taps inwards; the
/// horizontal pass keeps the integer sums and the vertical pass rounds once:
/// `(Σ q·h + 32768) >> 16`. Every channel (alpha included) is filtered the same way. Kernels of
/// up to 51 taps (σ ≤ 8.3) run specialised code; longer ones a slower generic loop.
public struct GaussianFilter: ImageFilter {
    /// Kernel length (odd).
    public let size: Int
    /// The σ the taps were computed from (derived from `size` when created with `size:`).
    public let sigma: Double
    /// The 1/256 fixed-point taps, summing to 256.
    public let taps: [UInt16]

    /// `GaussianBlur(img, (0, 0), sigma)`.
    ///
    /// - Throws: `invalidArgument` unless `sigma` is in 0.1...100.
    public init(sigma: Double) throws {
        guard sigma >= 0.1, sigma <= 100 else {
            throw DistributedImagingError.invalidArgument("gaussian: sigma must be in 0.1...100, not \(sigma)")
        }
        let size = Int((sigma * 6 + 1).rounded(.toNearestOrEven)) | 1
        self.size = size
        self.sigma = sigma
        self.taps = Self.fixedPointTaps(size: size, sigma: sigma)
    }

    /// `GaussianBlur(img, (size, size), 0)`.
    ///
    /// - Throws: `invalidArgument` unless `size` is odd and in 1...601.
    public init(size: Int) throws {
        guard size >= 1, size <= 601, size % 2 == 1 else {
            throw DistributedImagingError.invalidArgument("gaussian: size must be odd and in 1...601, not \(size)")
        }
        self.size = size
        self.sigma = 0.3 * (Double(size - 1) * 0.5 - 1) + 0.8
        self.taps = Self.fixedPointTaps(size: size, sigma: 0)
    }

    /// OpenCV's bit-exact 8-bit kernel (`getGaussianKernelBitExact`).
    ///
    /// - Parameter sigma: `≤ 0` selects the fixed tables for sizes up to 7 and the size-derived σ
    ///   otherwise.
    static func fixedPointTaps(size n: Int, sigma: Double) -> [UInt16] {
        if sigma <= 0 {
            switch n {
            case 1: return [256]
            case 3: return [64, 128, 64]
            case 5: return [16, 64, 96, 64, 16]
            case 7: return [8, 28, 56, 72, 56, 28, 8]
            default: break
            }
        }
        let s = sigma > 0 ? sigma : 0.3 * (Double(n - 1) * 0.5 - 1) + 0.8
        let scale = -0.5 / (s * s)
        var kernel = [Double](repeating: 0, count: n)
        var sum = 0.0
        for i in 0..<n {
            let x = Double(i) - Double(n - 1) * 0.5
            kernel[i] = exp(scale * x * x)
            sum += kernel[i]
        }
        var taps = [UInt16](repeating: 0, count: n)
        var error = 0.0
        var outer = 0
        for i in 0..<(n / 2) {
            let value = kernel[i] / sum * 256 + error
            let rounded = value.rounded(.toNearestOrAwayFromZero)
            taps[i] = UInt16(rounded)
            taps[n - 1 - i] = UInt16(rounded)
            outer += Int(rounded)
            error = value - rounded
        }
        taps[n / 2] = UInt16(256 - 2 * outer)
        return taps
    }

    public func apply(to image: Image) throws -> Image {
        let (width, height) = try image.cSize(for: "gaussian")
        return try self.taps.withUnsafeBufferPointer { taps in
            try image.mapped(filter: "gaussian") { input, output in
                CImageKernels_gaussian(
                    input, output, width, height, Int32(image.channels), taps.baseAddress, Int32(self.size))
            }
        }
    }
}
