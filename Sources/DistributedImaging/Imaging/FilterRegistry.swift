/// The filters a pipeline spec may name, with their parameters and defaults.
///
/// ``FilterRegistry/standard`` holds the built-in filters. Copy it and register your own:
///
/// ```swift
/// var registry = FilterRegistry.standard
/// registry.register("posterize", summary: "Keeps the top bits of every sample.",
///                   parameters: [.init("bits", default: 4, range: 1...8)]) { arguments in
///     Posterize(bits: Int(arguments["bits"]))
/// }
/// let pipeline = try Pipeline(parsing: "grayscale | posterize(bits: 3)", registry: registry)
/// ```
public struct FilterRegistry: Sendable {
    /// Builds a filter from its (validated, defaults filled in) arguments.
    public typealias Factory = @Sendable (FilterArguments) throws -> any ImageFilter

    /// One parameter of a filter.
    public struct Parameter: Sendable, Hashable {
        /// The label used in specs, e.g. `sigma`.
        public var label: String
        /// The value used when the spec omits the argument; `nil` makes it required.
        public var defaultValue: Double?
        /// The accepted values, inclusive.
        public var range: ClosedRange<Double>
        /// Whether the value must be a whole number.
        public var isInteger: Bool

        public init(_ label: String, default defaultValue: Double? = nil, range: ClosedRange<Double>, isInteger: Bool = false) {
            self.label = label
            self.defaultValue = defaultValue
            self.range = range
            self.isInteger = isInteger
        }
    }

    /// A registered filter.
    public struct Entry: Sendable {
        public var name: String
        public var summary: String
        public var parameters: [Parameter]
        /// Parameter sets: when a filter accepts alternatives (for example `gaussian(sigma:)` or
        /// `gaussian(size:)`), at most one label of each group may be given.
        public var exclusiveGroups: [[String]]
        public var make: Factory
    }

    private var entries: [String: Entry] = [:]

    /// An empty registry.
    public init() {}

    /// Registers (or replaces) a filter.
    ///
    /// - Parameters:
    ///   - name: The name used in specs; letters, digits and `_`.
    ///   - summary: One line for `--help` and error messages.
    ///   - parameters: The parameters in canonical order.
    ///   - exclusiveGroups: Labels of which at most one may be given in a spec.
    ///   - make: Builds the filter from validated arguments.
    public mutating func register(
        _ name: String,
        summary: String,
        parameters: [Parameter] = [],
        exclusiveGroups: [[String]] = [],
        make: @escaping Factory
    ) {
        self.entries[name] = Entry(
            name: name, summary: summary, parameters: parameters, exclusiveGroups: exclusiveGroups, make: make)
    }

    /// The registered filters, sorted by name.
    public var all: [Entry] { self.entries.values.sorted { $0.name < $1.name } }

    /// The filters for `--help`: a heading, then each filter's usage and summary.
    public var helpText: String {
        "\nFilters (join with '|'):\n" + self.all.map { "  \($0.usage)\n      \($0.summary)" }.joined(separator: "\n")
    }

    /// Looks up a filter by name.
    public subscript(name: String) -> Entry? { self.entries[name] }

    /// Validates `arguments` for filter `name` and builds the filter.
    ///
    /// - Returns: The filter and its canonical spec (every argument spelled out).
    func makeFilter(name: String, arguments given: [(label: String, value: Double)]) throws -> (any ImageFilter, String) {
        guard let entry = self.entries[name] else {
            throw DistributedImagingError.invalidPipeline(
                "unknown filter '\(Echo.excerpt(name, limit: 60))'; valid filters: \(self.all.map(\.name).joined(separator: ", "))")
        }
        var values: [String: Double] = [:]
        for (label, value) in given {
            guard let parameter = entry.parameters.first(where: { $0.label == label }) else {
                let valid = entry.parameters.isEmpty ? "it takes no arguments" : "valid: \(entry.usage)"
                throw DistributedImagingError.invalidPipeline(
                    "filter '\(name)' has no argument '\(Echo.excerpt(label, limit: 60))'; \(valid)")
            }
            guard values[label] == nil else {
                throw DistributedImagingError.invalidPipeline("filter '\(name)': argument '\(label)' is given twice")
            }
            guard parameter.range.contains(value), !parameter.isInteger || value == value.rounded() else {
                let kind = parameter.isInteger ? "a whole number" : "a number"
                throw DistributedImagingError.invalidPipeline(
                    "filter '\(name)': \(label) must be \(kind) in \(Self.format(parameter.range.lowerBound))...\(Self.format(parameter.range.upperBound)), not \(Self.format(value))"
                )
            }
            values[label] = value
        }
        for group in entry.exclusiveGroups {
            let present = group.filter { values[$0] != nil }
            if present.count > 1 {
                throw DistributedImagingError.invalidPipeline(
                    "filter '\(name)': give one of \(group.joined(separator: ", ")), not \(present.joined(separator: " and "))")
            }
        }
        let explicitlyGiven = Set(values.keys)
        for parameter in entry.parameters where values[parameter.label] == nil {
            // A parameter in an exclusive group whose alternative was given takes no default.
            let group = entry.exclusiveGroups.first { $0.contains(parameter.label) } ?? []
            if group.contains(where: { explicitlyGiven.contains($0) }) { continue }
            if let value = parameter.defaultValue {
                values[parameter.label] = value
            } else if group.isEmpty || group.first == parameter.label {
                throw DistributedImagingError.invalidPipeline("filter '\(name)' needs argument '\(parameter.label)'; usage: \(entry.usage)")
            }
        }
        let arguments = FilterArguments(filterName: name, values: values)
        let filter = try entry.make(arguments)
        let canonicalArguments = entry.parameters.compactMap { parameter in
            values[parameter.label].map { "\(parameter.label): \(Self.format($0))" }
        }
        let canonical = canonicalArguments.isEmpty ? name : "\(name)(\(canonicalArguments.joined(separator: ", ")))"
        return (filter, canonical)
    }

    /// Formats a number the way specs write it: `2`, `0.5`.
    static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}

extension FilterRegistry.Entry {
    /// A usage line such as `gaussian(sigma: 0.1...50 = 2, size: 1...255)`.
    public var usage: String {
        guard !self.parameters.isEmpty else { return self.name }
        let parts = self.parameters.map { parameter -> String in
            let range = "\(FilterRegistry.format(parameter.range.lowerBound))...\(FilterRegistry.format(parameter.range.upperBound))"
            let value = parameter.defaultValue.map { " = \(FilterRegistry.format($0))" } ?? ""
            return "\(parameter.label): \(range)\(value)"
        }
        return "\(self.name)(\(parts.joined(separator: ", ")))"
    }
}

/// The validated arguments of one filter in a spec, defaults filled in.
public struct FilterArguments: Sendable {
    /// The filter's name, for error messages.
    public let filterName: String
    /// Every argument by label.
    public let values: [String: Double]

    /// The value of `label`; `0` if the registry declared no such parameter.
    public subscript(label: String) -> Double { self.values[label] ?? 0 }

    /// The value of `label`, or `nil` when it was neither given nor defaulted.
    public func value(_ label: String) -> Double? { self.values[label] }
}
