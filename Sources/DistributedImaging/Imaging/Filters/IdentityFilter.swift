/// Returns the image unchanged.
public struct IdentityFilter: ImageFilter {
    public init() {}

    public func apply(to image: Image) throws -> Image { image }
}
