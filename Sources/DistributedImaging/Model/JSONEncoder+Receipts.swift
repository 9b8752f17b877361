public import Foundation

extension JSONEncoder {
    /// JSON as `receipt.json`, the job events and the commands' `--json` output write it: sorted
    /// keys, slashes unescaped, indented when `pretty`; NaN and infinities (which a peer may
    /// send) as the strings `NaN`, `Infinity` and `-Infinity` rather than a failure.
    public static func receipts(pretty: Bool = true) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }
}
