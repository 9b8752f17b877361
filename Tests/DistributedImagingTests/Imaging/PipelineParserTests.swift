import DistributedImaging
import Testing

@Suite("Pipeline spec parser")
struct PipelineParserTests {
    @Test(
        "Valid specs parse to their canonical description",
        arguments: [
            ("grayscale", "grayscale"),
            ("  grayscale|invert  ", "grayscale | invert"),
            ("gaussian", "gaussian(sigma: 2)"),
            ("gaussian()", "gaussian(sigma: 2)"),
            ("gaussian(sigma: 1.5)", "gaussian(sigma: 1.5)"),
            ("gaussian(size: 5)", "gaussian(size: 5)"),
            ("gaussian( sigma :2 )", "gaussian(sigma: 2)"),
            ("box", "box(size: 5)"),
            ("canny", "canny(low: 100, high: 200)"),
            ("canny(high: 150)", "canny(low: 100, high: 150)"),
            ("canny(high: 150, low: 50)", "canny(low: 50, high: 150)"),
            ("threshold", "threshold(value: 127)"),
            ("resize", "resize(scale: 0.5)"),
            ("resize(scale: 2.5e-1)", "resize(scale: 0.25)"),
            ("grayscale | gaussian(sigma: 2) | canny(low: 100, high: 200)",
             "grayscale | gaussian(sigma: 2) | canny(low: 100, high: 200)"),
            ("sharpen|sobel|edges|identity", "sharpen | sobel | edges | identity"),
        ])
    func canonical(spec: String, expected: String) throws {
        let pipeline = try Pipeline(parsing: spec)
        #expect(pipeline.description == expected)
        // the canonical form parses to itself
        #expect(try Pipeline(parsing: pipeline.description).description == expected)
    }

    /// Parses `spec`, expecting an `invalidPipeline` error; returns its message.
    func failure(_ spec: String) -> String {
        do {
            _ = try Pipeline(parsing: spec)
            Issue.record("'\(spec)' parsed but should not")
            return ""
        } catch let error as DistributedImagingError {
            #expect(error.code == .invalidPipeline, "\(spec): \(error.code)")
            return error.message
        } catch {
            Issue.record("unexpected error \(error)")
            return ""
        }
    }

    @Test("An unknown filter names every valid filter")
    func unknownFilter() {
        let message = self.failure("grayscale | blurr(sigma: 2)")
        #expect(message.contains("blurr"))
        for entry in FilterRegistry.standard.all {
            #expect(message.contains(entry.name), "message does not list '\(entry.name)': \(message)")
        }
    }

    @Test("An unknown argument names the valid ones")
    func badArgument() {
        let message = self.failure("gaussian(radius: 2)")
        #expect(message.contains("radius"))
        #expect(message.contains("sigma") && message.contains("size"))
        #expect(self.failure("sharpen(amount: 2)").contains("takes no arguments"))
    }

    @Test("Values out of range or not whole are refused", arguments: [
        "gaussian(sigma: 0)", "gaussian(sigma: -1)", "gaussian(size: 0)", "gaussian(size: 2.5)",
        "box(size: 1000)", "threshold(value: 300)", "resize(scale: 2)", "resize(scale: 0)", "canny(low: -1)",
    ])
    func outOfRange(spec: String) {
        let message = self.failure(spec)
        #expect(message.contains("must be"), "\(message)")
    }

    @Test("Even kernel sizes are refused with a clear message", arguments: ["gaussian(size: 4)", "box(size: 4)"])
    func evenSize(spec: String) {
        #expect(self.failure(spec).contains("odd"))
    }

    @Test("Syntax errors say what was expected", arguments: [
        ("gaussian(sigma: 2", "expected ',' or ')'"),
        ("gaussian(sigma 2)", "expected ':'"),
        ("gaussian(sigma: abc)", "needs a number"),
        ("grayscale invert", "expected '|'"),
        ("grayscale |", "expected a filter name"),
        ("| grayscale", "expected a filter name"),
        ("gaussian(sigma: 1, sigma: 2)", "given twice"),
    ])
    func syntax(spec: String, expected: String) {
        let message = self.failure(spec)
        #expect(message.contains(expected), "\(message)")
    }

    @Test("An empty spec is refused", arguments: ["", "   "])
    func empty(spec: String) {
        #expect(self.failure(spec).contains("empty"))
    }

    @Test("sigma and size together are refused")
    func exclusive() {
        let message = self.failure("gaussian(sigma: 2, size: 5)")
        #expect(message.contains("sigma") && message.contains("size"))
    }

    @Test("Every registered filter documents itself")
    func registryEntries() {
        let names = FilterRegistry.standard.all.map(\.name)
        #expect(names == ["box", "canny", "edges", "gaussian", "grayscale", "identity", "invert", "resize", "sharpen", "sobel", "threshold"])
        #expect(FilterRegistry.standard["gaussian"]?.usage == "gaussian(sigma: 0.1...100 = 2, size: 1...601)")
        for entry in FilterRegistry.standard.all { #expect(!entry.summary.isEmpty) }
    }
}
