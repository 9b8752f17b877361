/// Returns the image unchanged.
public struct IdentityFilter: ImageFilter {
    /// Creates the filter; it has no parameters.
    public init() {}

    public func apply(to image: Image) throws -> Image { image }
}
