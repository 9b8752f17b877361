extension FilterRegistry {
    /// The built-in filters. Each is equal, pixel for pixel, to the OpenCV operation its
    /// documentation names.
    public static let standard: FilterRegistry = {
        var registry = FilterRegistry()
        registry.register("identity", summary: "Returns the image unchanged.") { _ in IdentityFilter() }
        registry.register("invert", summary: "255 − v on every channel (cv2.bitwise_not).") { _ in InvertFilter() }
        return registry
    }()
}
