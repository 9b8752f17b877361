import CImageKernels

/// OpenCV's INTER_AREA downscaling for 8-bit images (`resizeAreaFast_` and `ResizeArea_Invoker`).
enum AreaResampler {
    /// One source-to-destination weight: destination sample `di` gets `alpha · source[si]`.
    struct Weight {
        var di: Int
        var si: Int
        var alpha: Float
    }

    static func resize(_ image: Image, width: Int, height: Int) -> Image {
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
        return self.resizeWeighted(image, width: width, height: height, scaleX: scaleX, scaleY: scaleY)
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

    /// Fractional factors: area weights accumulated in `Float`, in OpenCV's order.
    private static func resizeWeighted(_ image: Image, width: Int, height: Int, scaleX: Double, scaleY: Double) -> Image {
        let channels = image.channels
        let xTable = self.weights(source: image.width, destination: width, scale: scaleX, channels: channels)
        let yTable = self.weights(source: image.height, destination: height, scale: scaleY, channels: 1)
        let rowLength = width * channels
        let sourceStride = image.rowStride
        var buffer = [Float](repeating: 0, count: rowLength)
        var sum = [Float](repeating: 0, count: rowLength)
        return Image(width: width, height: height, channels: channels) { output in
            image.pixels.withUnsafeBufferPointer { source in
                buffer.withUnsafeMutableBufferPointer { buffer in
                    sum.withUnsafeMutableBufferPointer { sum in
                        func store(row: Int) {
                            let base = row * rowLength
                            for index in 0..<rowLength {
                                output[base + index] = UInt8(clamping: Int(sum[index].rounded(.toNearestOrEven)))
                            }
                        }
                        var previousRow = yTable.first?.di ?? 0
                        xTable.withUnsafeBufferPointer { xTable in
                            for entry in yTable {
                                let beta = entry.alpha
                                let row = source.baseAddress.map { $0 + entry.si * sourceStride }
                                guard let row, let buffer = buffer.baseAddress, let sum = sum.baseAddress else { return }
                                buffer.update(repeating: 0, count: rowLength)
                                // S·alpha added to buf in table order, exactly as OpenCV's loop
                                switch channels {
                                case 1:
                                    for weight in xTable {
                                        buffer[weight.di] = buffer[weight.di] + Float(row[weight.si]) * weight.alpha
                                    }
                                case 3:
                                    for weight in xTable {
                                        let d = buffer + weight.di, s = row + weight.si, alpha = weight.alpha
                                        d[0] = d[0] + Float(s[0]) * alpha
                                        d[1] = d[1] + Float(s[1]) * alpha
                                        d[2] = d[2] + Float(s[2]) * alpha
                                    }
                                default:
                                    for weight in xTable {
                                        let d = buffer + weight.di, s = row + weight.si, alpha = weight.alpha
                                        for channel in 0..<channels { d[channel] = d[channel] + Float(s[channel]) * alpha }
                                    }
                                }
                                if entry.di != previousRow {
                                    store(row: previousRow)
                                    for index in 0..<rowLength { sum[index] = beta * buffer[index] }
                                    previousRow = entry.di
                                } else {
                                    for index in 0..<rowLength { sum[index] = sum[index] + beta * buffer[index] }
                                }
                            }
                        }
                        store(row: previousRow)
                    }
                }
            }
        }
    }
}
