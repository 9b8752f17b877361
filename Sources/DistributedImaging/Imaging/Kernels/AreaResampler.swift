import CImageKernels

/// OpenCV's INTER_AREA downscaling for 8-bit images (`resizeAreaFast_` and `ResizeArea_Invoker`).
enum AreaResampler {
    /// One source-to-destination weight: destination sample `di` gets `alpha · source[si]`.
    struct Weight {
        var di: Int
        var si: Int
        var alpha: Float
    }

    static func resize(_ image: Image, width: Int, height: Int) throws -> Image {
        let scaleX = 1.0 / (Double(width) / Double(image.width))
        let scaleY = 1.0 / (Double(height) / Double(image.height))
        let integerX = scaleX.rounded(), integerY = scaleY.rounded()
        if abs(scaleX - integerX) < Double.ulpOfOne, abs(scaleY - integerY) < Double.ulpOfOne {
            if integerX == 2, integerY == 2, let size = try? image.cSize(for: "resize"),
                let halved = try? image.mapped(filter: "resize", width: width, height: height, { input, output in
                    CImageKernels_halve(input, output, size.width, size.height, Int32(image.channels))
                })
            {
                return halved
            }
            return self.resizeBlocks(image, width: width, height: height, blockX: Int(integerX), blockY: Int(integerY))
        }
        return try self.resizeWeighted(image, width: width, height: height, scaleX: scaleX, scaleY: scaleY)
    }

    /// Whole-number factors: block sums.
    private static func resizeBlocks(_ image: Image, width: Int, height: Int, blockX: Int, blockY: Int) -> Image {
        let channels = image.channels
        let sourceStride = image.rowStride
        let area = blockX * blockY
        let scale = 1 / Float(area)
        return Image(width: width, height: height, channels: channels) { output in
            image.pixels.withUnsafeBufferPointer { source in
                for y in 0..<height {
                    for x in 0..<width {
                        for channel in 0..<channels {
                            var sum = 0
                            for dy in 0..<blockY {
                                let row = (y * blockY + dy) * sourceStride
                                for dx in 0..<blockX {
                                    sum &+= Int(source[row + (x * blockX + dx) * channels + channel])
                                }
                            }
                            let value: Int
                            if area == 4 {
                                value = (sum + 2) >> 2
                            } else {
                                value = Int((Float(sum) * scale).rounded(.toNearestOrEven))
                            }
                            output[(y * width + x) * channels + channel] = UInt8(clamping: value)
                        }
                    }
                }
            }
        }
    }

    /// OpenCV's `computeResizeAreaTab`.
    static func weights(source: Int, destination: Int, scale: Double, channels: Int) -> [Weight] {
        var table: [Weight] = []
        table.reserveCapacity(source * 2)
        for dx in 0..<destination {
            let fsx1 = Double(dx) * scale
            let fsx2 = fsx1 + scale
            let cellWidth = min(scale, Double(source) - fsx1)
            var sx1 = Int(fsx1.rounded(.up))
            var sx2 = Int(fsx2.rounded(.down))
            sx2 = min(sx2, source - 1)
            sx1 = min(sx1, sx2)
            if Double(sx1) - fsx1 > 1e-3 {
                table.append(Weight(di: dx * channels, si: (sx1 - 1) * channels, alpha: Float((Double(sx1) - fsx1) / cellWidth)))
            }
            if sx1 < sx2 {
                for sx in sx1..<sx2 {
                    table.append(Weight(di: dx * channels, si: sx * channels, alpha: Float(1.0 / cellWidth)))
                }
            }
            if fsx2 - Double(sx2) > 1e-3 {
                let alpha = min(min(fsx2 - Double(sx2), 1.0), cellWidth) / cellWidth
                table.append(Weight(di: dx * channels, si: sx2 * channels, alpha: Float(alpha)))
            }
        }
        return table
    }

    /// Fractional factors: area weights accumulated in `Float`, in OpenCV's order (the C kernel
    /// `CImageKernels_resizeArea`).
    private static func resizeWeighted(
        _ image: Image, width: Int, height: Int, scaleX: Double, scaleY: Double
    ) throws -> Image {
        let xTable = self.weights(source: image.width, destination: width, scale: scaleX, channels: 1)
        let yTable = self.weights(source: image.height, destination: height, scale: scaleY, channels: 1)
        // the x table grouped per destination pixel, padded with weight-0 taps (adding +0 changes
        // no sum) to the largest group, so that the kernel's inner loop has a constant length
        var taps = 0
        var start = 0
        while start < xTable.count {
            var end = start
            while end < xTable.count, xTable[end].di == xTable[start].di { end += 1 }
            taps = max(taps, end - start)
            start = end
        }
        var offsets = [Int32](repeating: 0, count: width * taps)
        var alphas = [Float](repeating: 0, count: width * taps)
        var filled = [Int](repeating: 0, count: width)
        for weight in xTable {
            let slot = weight.di * taps + filled[weight.di]
            offsets[slot] = Int32(weight.si)
            alphas[slot] = weight.alpha
            filled[weight.di] += 1
        }
        for dx in 0..<width where filled[dx] > 0 {
            for k in filled[dx]..<taps { offsets[dx * taps + k] = offsets[dx * taps + filled[dx] - 1] }
        }
        let sourceRows = yTable.map { Int32($0.si) }
        let destinationRows = yTable.map { Int32($0.di) }
        let betas = yTable.map(\.alpha)
        let (sourceWidth, _) = try image.cSize(for: "resize")
        guard let destinationWidth = Int32(exactly: width), let tapCount = Int32(exactly: taps),
            let rowCount = Int32(exactly: yTable.count)
        else {
            throw DistributedImagingError.invalidArgument("resize: image \(image.width)×\(image.height) is too large")
        }
        let channels = Int32(image.channels)
        return try image.mapped(filter: "resize", width: width, height: height) { input, output in
            CImageKernels_resizeArea(
                input, output, sourceWidth, destinationWidth, channels, offsets, alphas, tapCount,
                sourceRows, destinationRows, betas, rowCount)
        }
    }
}
