/// A sequence of filters, written as text: filters joined by `|`, each `name` or
/// `name(label: value, …)`.
///
/// ```swift
/// let pipeline = try Pipeline(parsing: "grayscale | gaussian(sigma: 2) | canny(low: 100, high: 200)")
/// let output = try pipeline.apply(to: image)
/// ```
///
/// The same syntax is used on the command line, in configuration files and on the wire.
/// ``description`` is the canonical form, with every argument spelled out.
public struct Pipeline: Sendable, CustomStringConvertible {
    /// One filter and its canonical spec.
    public struct Stage: Sendable {
        public var spec: String
        public var filter: any ImageFilter

        public init(spec: String, filter: any ImageFilter) {
            self.spec = spec
            self.filter = filter
        }
    }

    /// The filters, applied in order.
    public var stages: [Stage]

    /// Creates a pipeline from stages.
    public init(stages: [Stage]) {
        self.stages = stages
    }

    /// Parses a pipeline spec.
    ///
    /// - Parameters:
    ///   - spec: The text, e.g. `grayscale | gaussian(size: 5)`.
    ///   - registry: The filters the spec may name.
    /// - Throws: ``DistributedImagingError`` with code `invalidPipeline` naming the bad filter or
    ///   argument and listing what is valid.
    public init(parsing spec: String, registry: FilterRegistry = .standard) throws {
        var parser = PipelineParser(text: spec)
        let calls = try parser.parse()
        self.stages = try calls.map { call in
            let (filter, canonical) = try registry.makeFilter(name: call.name, arguments: call.arguments)
            return Stage(spec: canonical, filter: filter)
        }
    }

    /// Runs every stage in order.
    ///
    /// Pointwise stages (`threshold`, `invert`) after the first stage overwrite the previous
    /// stage's output instead of allocating a new image; `image` itself is never modified.
    public func apply(to image: Image) throws -> Image {
        try self.run(image, ownsPixels: false)
    }

    /// Runs every stage in order on an image whose pixels no one else references (a fresh
    /// decode), so that a pointwise first stage can work in place too. Pass it with `consume`;
    /// if the pixels are shared after all, copy-on-write copies them and the result is the same.
    package func apply(unshared image: consuming Image) throws -> Image {
        try self.run(consume image, ownsPixels: true)
    }

    private func run(_ image: consuming Image, ownsPixels: Bool) throws -> Image {
        // Whether `image` is the only reference to its pixels: false for the caller's input, true
        // once a stage has returned new pixels. Only a hint: when wrong, the in-place stage's
        // copy-on-write copies the pixels first, so no other holder ever sees them change.
        var ownsPixels = ownsPixels
        for stage in self.stages {
            if ownsPixels, let filter = stage.filter as? any InPlaceImageFilter {
                try filter.apply(inPlace: &image)
            } else {
                let input = image.pixels.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
                image = try stage.filter.apply(to: image)
                // the input was alive during the call, so a different address is a new buffer
                ownsPixels = image.pixels.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } != input
            }
        }
        return image
    }

    /// The canonical spec: stages joined by ` | `, every argument spelled out.
    public var description: String {
        self.stages.isEmpty ? "identity" : self.stages.map(\.spec).joined(separator: " | ")
    }
}

/// A hand-written recursive-descent parser for pipeline specs.
private struct PipelineParser {
    struct Call {
        var name: String
        var arguments: [(label: String, value: Double)]
    }

    let text: String
    private var scalars: [Unicode.Scalar]
    private var index = 0

    init(text: String) {
        self.text = text
        self.scalars = Array(text.unicodeScalars)
    }

    mutating func parse() throws -> [Call] {
        var calls: [Call] = []
        self.skipSpace()
        if self.index == self.scalars.count {
            throw self.error("the pipeline is empty; write filters joined by '|', e.g. 'grayscale | gaussian(sigma: 2)'")
        }
        while true {
            calls.append(try self.parseCall())
            self.skipSpace()
            if self.index == self.scalars.count { return calls }
            guard self.scalars[self.index] == "|" else {
                throw self.error("expected '|' between filters at \(self.position)")
            }
            self.index += 1
        }
    }

    private mutating func parseCall() throws -> Call {
        self.skipSpace()
        let token = self.parseIdentifier()
        guard !token.isEmpty else { throw self.error("expected a filter name at \(self.position)") }
        let name = Echo.excerpt(token, limit: 60)
        var call = Call(name: token, arguments: [])
        self.skipSpace()
        guard self.index < self.scalars.count, self.scalars[self.index] == "(" else { return call }
        self.index += 1
        self.skipSpace()
        if self.peek(")") { self.index += 1; return call }
        while true {
            self.skipSpace()
            let labelToken = self.parseIdentifier()
            let label = Echo.excerpt(labelToken, limit: 60)
            guard !label.isEmpty else { throw self.error("filter '\(name)': expected an argument label at \(self.position)") }
            self.skipSpace()
            guard self.peek(":") else {
                throw self.error("filter '\(name)': expected ':' after '\(label)' at \(self.position)")
            }
            self.index += 1
            self.skipSpace()
            let number = self.parseNumber()
            guard let value = Double(number), value.isFinite else {
                throw self.error("filter '\(name)': argument '\(label)' needs a number, got '\(Echo.excerpt(number, limit: 60))'")
            }
            call.arguments.append((labelToken, value))
            self.skipSpace()
            if self.peek(",") { self.index += 1; continue }
            if self.peek(")") { self.index += 1; return call }
            throw self.error("filter '\(name)': expected ',' or ')' at \(self.position)")
        }
    }

    private var position: String {
        self.index < self.scalars.count ? "column \(self.index + 1)" : "the end"
    }

    private func peek(_ scalar: Unicode.Scalar) -> Bool {
        self.index < self.scalars.count && self.scalars[self.index] == scalar
    }

    private mutating func skipSpace() {
        while self.index < self.scalars.count, self.scalars[self.index].properties.isWhitespace { self.index += 1 }
    }

    private mutating func parseIdentifier() -> String {
        var result = String.UnicodeScalarView()
        while self.index < self.scalars.count {
            let scalar = self.scalars[self.index]
            guard scalar == "_" || (scalar.isASCII && scalar.properties.isAlphabetic) || ("0"..."9").contains(scalar)
            else { break }
            result.append(scalar)
            self.index += 1
        }
        return String(result)
    }

    private mutating func parseNumber() -> String {
        var result = String.UnicodeScalarView()
        while self.index < self.scalars.count {
            let scalar = self.scalars[self.index]
            guard ("0"..."9").contains(scalar) || scalar == "." || scalar == "-" || scalar == "+" || scalar == "e" || scalar == "E"
            else { break }
            result.append(scalar)
            self.index += 1
        }
        return String(result)
    }

    /// An error naming the spot; a long spec is quoted only around it, so that the message
    /// stays short enough for a gRPC status and a terminal line.
    private func error(_ message: String) -> DistributedImagingError {
        let count = self.scalars.count
        guard count > Echo.limit else {
            return DistributedImagingError.invalidPipeline("invalid pipeline '\(self.text)': \(message)")
        }
        let lower = max(0, min(self.index, count) - 60)
        let upper = min(count, lower + 120)
        var near = String.UnicodeScalarView()
        near.append(contentsOf: self.scalars[lower..<upper])
        let quoted = (lower > 0 ? "…" : "") + String(near) + (upper < count ? "…" : "")
        return DistributedImagingError.invalidPipeline("invalid pipeline (\(count) characters) near '\(quoted)': \(message)")
    }
}
