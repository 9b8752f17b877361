/// Bounds how much of a caller's input an error message repeats, so that every message fits in
/// a gRPC status (whose headers are limited to 16 KB) and on a terminal line.
package enum Echo {
    /// The most of one input a message repeats, in Unicode scalars (so at most 4 bytes each).
    package static let limit = 200

    /// `text`, cut to `limit` Unicode scalars with "…" appended when it was longer.
    package static func excerpt(_ text: some StringProtocol, limit: Int = Echo.limit) -> String {
        let scalars = text.unicodeScalars
        guard scalars.count > limit else { return String(text) }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars.prefix(max(limit, 0)))
        return String(view) + "…"
    }
}
