/// One step of a ``Pipeline``: turns an image into another.
///
/// Conform to add your own filter, then make it reachable from pipeline specs with
/// ``FilterRegistry/register(_:summary:parameters:exclusiveGroups:make:)``.
///
/// - Important: `apply(to:)` runs on a node's worker threads and may be called concurrently;
///   keep conformers immutable.
public protocol ImageFilter: Sendable {
    /// Returns the filtered image.
    ///
    /// - Throws: ``DistributedImagingError`` when the image cannot be filtered (for example a
    ///   size the filter does not support).
    func apply(to image: Image) throws -> Image
}

/// A filter that can also overwrite an image whose pixels the caller owns, sample by sample, with
/// the same result as ``ImageFilter/apply(to:)``. ``Pipeline`` uses it between stages, where the
/// image is its own: no new buffer (and no page faults for it) per stage.
protocol InPlaceImageFilter: ImageFilter {
    /// Replaces `image` by the filtered image, reusing its pixel buffer when it is uniquely
    /// referenced (copy-on-write copies it otherwise, so other holders never see a change).
    func apply(inPlace image: inout Image) throws
}
