extension FilterRegistry {
    /// The built-in filters. Each is equal, pixel for pixel, to the OpenCV operation its
    /// documentation names (OpenCV 5.0, one thread, border reflect-101 unless stated).
    ///
    /// | spec | OpenCV | defaults |
    /// |---|---|---|
    /// | `identity` | – | |
    /// | `grayscale` | `cvtColor(COLOR_BGR2GRAY)` | |
    /// | `gaussian(sigma: s)` / `gaussian(size: k)` | `GaussianBlur((0,0), s)` / `GaussianBlur((k,k), 0)` | sigma 2 when neither is given |
    /// | `box(size: k)` | `blur((k,k))`, odd k | size 5 |
    /// | `sharpen` | `filter2D([[0,-1,0],[-1,5,-1],[0,-1,0]])` | |
    /// | `sobel` | `convertScaleAbs(magnitude(Sobel dx, Sobel dy))` on gray | |
    /// | `canny(low: a, high: b)` | `Canny(gray, a, b)` | low 100, high 200 |
    /// | `threshold(value: t)` | `threshold(t, 255, THRESH_BINARY)` | value 127 |
    /// | `invert` | `bitwise_not` | |
    /// | `resize(scale: f)` | `resize((⌊W·f⌋, ⌊H·f⌋), INTER_AREA)` | scale 0.5 |
    /// | `edges` | mask `Canny(blur(gray,(3,3)), 5, 15)` over the colour image | |
    public static let standard: FilterRegistry = {
        var registry = FilterRegistry()
        registry.register("identity", summary: "Returns the image unchanged.") { _ in IdentityFilter() }
        registry.register("invert", summary: "255 − v on every channel (cv2.bitwise_not).") { _ in InvertFilter() }
        registry.register("grayscale", summary: "Luma (cv2.COLOR_BGR2GRAY); drops alpha.") { _ in GrayscaleFilter() }
        registry.register(
            "gaussian",
            summary: "Gaussian blur (cv2.GaussianBlur) by sigma, or by odd kernel size with sigma from size; sigma 2 if neither.",
            parameters: [
                .init("sigma", default: 2, range: 0.1...100),
                .init("size", range: 1...601, isInteger: true),
            ],
            exclusiveGroups: [["sigma", "size"]]
        ) { arguments in
            if let size = arguments.value("size") {
                return try Self.wrap("gaussian") { try GaussianFilter(size: Int(size)) }
            }
            return try Self.wrap("gaussian") { try GaussianFilter(sigma: arguments["sigma"]) }
        }
        registry.register(
            "box",
            summary: "Mean over an odd size×size window (cv2.blur).",
            parameters: [.init("size", default: 5, range: 1...255, isInteger: true)]
        ) { arguments in
            try Self.wrap("box") { try BoxFilter(size: Int(arguments["size"])) }
        }
        registry.register("sharpen", summary: "3×3 sharpen [[0,-1,0],[-1,5,-1],[0,-1,0]] (cv2.filter2D).") { _ in
            SharpenFilter()
        }
        registry.register("sobel", summary: "Sobel gradient magnitude of the gray image, clamped to 255.") { _ in
            SobelFilter()
        }
        registry.register(
            "canny",
            summary: "Canny edges of the gray image (cv2.Canny, aperture 3, L1 gradient).",
            parameters: [
                .init("low", default: 100, range: 0...100_000),
                .init("high", default: 200, range: 0...100_000),
            ]
        ) { arguments in
            try Self.wrap("canny") { try CannyFilter(low: arguments["low"], high: arguments["high"]) }
        }
        registry.register(
            "threshold",
            summary: "255 where a sample exceeds value, else 0 (cv2.THRESH_BINARY), per channel.",
            parameters: [.init("value", default: 127, range: 0...255)]
        ) { arguments in
            try Self.wrap("threshold") { try ThresholdFilter(value: arguments["value"]) }
        }
        registry.register(
            "resize",
            summary: "Downscale by area averaging to ⌊W·scale⌋×⌊H·scale⌋ (cv2.INTER_AREA).",
            parameters: [.init("scale", default: 0.5, range: 0.001...1)]
        ) { arguments in
            try Self.wrap("resize") { try ResizeFilter(scale: arguments["scale"]) }
        }
        registry.register(
            "edges",
            summary: "Original pixels where Canny(blur3×3(gray), 5, 15) finds an edge, black elsewhere."
        ) { _ in EdgesFilter() }
        return registry
    }()

    /// Reports a filter's argument error as a pipeline error.
    private static func wrap(_ name: String, _ make: () throws -> any ImageFilter) throws -> any ImageFilter {
        do {
            return try make()
        } catch let error as DistributedImagingError {
            throw DistributedImagingError.invalidPipeline(error.message)
        }
    }
}
