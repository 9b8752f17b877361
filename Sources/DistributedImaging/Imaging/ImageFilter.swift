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
