/// Glue between the Swift filters and the C kernels of `CImageKernels`.
extension Image {
    /// Width and height as C `int`s.
    ///
    /// - Throws: `invalidArgument` when a side does not fit an `Int32`.
    func cSize(for filter: String) throws -> (width: Int32, height: Int32) {
        guard let width = Int32(exactly: self.width), let height = Int32(exactly: self.height) else {
            throw DistributedImagingError.invalidArgument(
                "\(filter): image \(self.width)×\(self.height) is too large for this filter")
        }
        return (width, height)
    }

    /// Runs a C kernel that reads this image's samples and writes a new image of the given shape.
    ///
    /// - Parameter kernel: Receives the input and output base addresses and returns the C status
    ///   (0 = success, otherwise out of memory).
    func mapped(
        filter: String,
        width: Int? = nil,
        height: Int? = nil,
        channels: Int? = nil,
        _ kernel: (UnsafePointer<UInt8>?, UnsafeMutablePointer<UInt8>?) -> Int32
    ) throws -> Image {
        var status: Int32 = 0
        let output = Image(
            width: width ?? self.width, height: height ?? self.height, channels: channels ?? self.channels
        ) { output in
            self.pixels.withUnsafeBufferPointer { input in
                status = kernel(input.baseAddress, output.baseAddress)
            }
            if status != 0 {
                // keep the buffer initialised even on failure; the image is discarded below
                output.initialize(repeating: 0)
            }
        }
        guard status == 0 else {
            throw DistributedImagingError(
                code: .internalError, message: "\(filter): out of memory for a \(self.width)×\(self.height) image")
        }
        return output
    }
}
