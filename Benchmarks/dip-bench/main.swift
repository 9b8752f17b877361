// dip-bench: single-thread throughput of the filters, the codec and the reference pipeline.
//
// Usage: swift run -c release dip-bench scheduling [...]   (see SchedulingBenchmark.swift)
//        swift run -c release dip-bench experiment [...]   (see SchedulingExperiment.swift)
//        swift run -c release dip-bench simulate [...]     (see ScaleSimulation.swift)
//        swift run -c release dip-bench dispatch-order [...] (see DispatchOrderBenchmark.swift)
//        swift run -c release dip-bench [CORPUS_DIR_OR_FILE ...] [--groups filters,codec,pipeline]
//                                       [--ops gauss_sigma2,canny_100_200,...] [--min-runs 5]
//                                       [--min-time 0.2] [--pipeline-reps 3]
//                                       [--spec NAME=SPEC] [--gray-spec NAME=SPEC]
//
// Methodology follows ../shared/bench/peers.py so that figures can be compared: files are read
// once up front; each op runs once to warm up, then max(min-runs, runs that fit in min-time)
// times (at most 200) and the MEDIAN is kept; MP/s = input megapixels / median seconds. Filters
// run on the 8-bit RGB version of each image (gray images are expanded to RGB), sobel and canny
// on its gray version; images under 0.05 MP only get decode timings. The summary aggregates
// sum(MP) / sum(median seconds) over images >= 2 MP ("large") and over the others ("photos").

import DistributedImaging
import Foundation

// `dip-bench fairness [...]`: see FairnessBenchmark.swift; exits 1 when the small job is slowed more than 2×.
if CommandLine.arguments.dropFirst().first == "fairness" {
    let passed = await FairnessBenchmark.main(arguments: Array(CommandLine.arguments.dropFirst(2)))
    exit(passed ? 0 : 1)
}

// `dip-bench experiment [--trials N] [--out DIR]`: see SchedulingExperiment.swift; exits 1 when a
// 3 % check against the analytic model fails.
if CommandLine.arguments.dropFirst().first == "experiment" {
    let passed = SchedulingExperiment.main(arguments: Array(CommandLine.arguments.dropFirst(2)))
    exit(passed ? 0 : 1)
}

// `dip-bench dispatch-order [CORPUS] [...]`: see DispatchOrderBenchmark.swift.
if CommandLine.arguments.dropFirst().first == "dispatch-order" {
    let passed = await DispatchOrderBenchmark.main(arguments: Array(CommandLine.arguments.dropFirst(2)))
    exit(passed ? 0 : 1)
}

// `dip-bench simulate [--nodes N] [--tasks N] [...]`: see ScaleSimulation.swift; exits 1 past 60 s.
if CommandLine.arguments.dropFirst().first == "simulate" {
    let passed = ScaleSimulation.main(arguments: Array(CommandLine.arguments.dropFirst(2)))
    exit(passed ? 0 : 1)
}

// `dip-bench scheduling [--tasks N] [--runs N]`: see SchedulingBenchmark.swift; exits 1 on a FAIL line.
if CommandLine.arguments.dropFirst().first == "scheduling" {
    let passed = await SchedulingBenchmark.main(arguments: Array(CommandLine.arguments.dropFirst(2)))
    exit(passed ? 0 : 1)
}

struct Options {
    var paths: [String] = []
    var groups: Set<String> = ["filters", "codec", "pipeline"]
    var ops: Set<String>? = nil
    var minRuns = 5
    var minTime = 0.2
    var pipelineReps = 3
    var extraOps: [(name: String, kind: String, spec: String)] = []
}

func parseOptions() -> Options {
    var options = Options()
    var arguments = CommandLine.arguments.dropFirst().makeIterator()
    while let argument = arguments.next() {
        switch argument {
        case "--groups": options.groups = Set((arguments.next() ?? "").split(separator: ",").map(String.init))
        case "--ops": options.ops = Set((arguments.next() ?? "").split(separator: ",").map(String.init))
        case "--min-runs": options.minRuns = Int(arguments.next() ?? "") ?? options.minRuns
        case "--min-time": options.minTime = Double(arguments.next() ?? "") ?? options.minTime
        case "--spec", "--gray-spec":
            // --spec NAME=SPEC times any pipeline on the RGB (or, with --gray-spec, gray) input
            let value = arguments.next() ?? ""
            let parts = value.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { options.extraOps.append((parts[0], argument == "--spec" ? "rgb" : "gray", parts[1])) }
        case "--pipeline-reps": options.pipelineReps = Int(arguments.next() ?? "") ?? options.pipelineReps
        case "-h", "--help":
            print("usage: dip-bench [PATH ...] [--groups filters,codec,pipeline] [--ops a,b] [--spec NAME=SPEC] [--gray-spec NAME=SPEC] [--min-runs N] [--min-time S] [--pipeline-reps N]")
            print("  PATH: image files or folders; default ../shared/corpus, the public image corpus beside")
            print("  the repository on the team's machines (pass your own folder of PNG/JPEG images elsewhere)")
            exit(0)
        default: options.paths.append(argument)
        }
    }
    if options.paths.isEmpty { options.paths = ["../shared/corpus"] }
    return options
}

struct Item {
    var path: String
    var relative: String
    var bytes: [UInt8]
    var format: String
    var image: Image
    var megapixels: Double { Double(self.image.pixelCount) / 1e6 }
}

func discover(_ paths: [String]) -> [Item] {
    var files: [(String, String)] = []
    let manager = FileManager.default
    for root in paths {
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: root, isDirectory: &isDirectory) else {
            FileHandle.standardError.write(Data("dip-bench: no such path \(root)\n".utf8))
            continue
        }
        if !isDirectory.boolValue { files.append((root, (root as NSString).lastPathComponent)); continue }
        let enumerator = manager.enumerator(atPath: root)
        var found: [String] = []
        while let relative = enumerator?.nextObject() as? String {
            let lower = relative.lowercased()
            if lower.hasSuffix(".png") || lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") { found.append(relative) }
        }
        for relative in found.sorted() { files.append(((root as NSString).appendingPathComponent(relative), relative)) }
    }
    var items: [Item] = []
    var skipped: [String] = []
    for (path, relative) in files {
        guard let data = FileManager.default.contents(atPath: path) else { continue }
        let bytes = [UInt8](data)
        do {
            let image = try ImageCodec().decode(bytes, name: relative)
            let format = ImageCodec.detectFormat(bytes) == .jpeg ? "jpeg" : "png"
            items.append(Item(path: path, relative: relative, bytes: bytes, format: format, image: image))
        } catch {
            skipped.append(relative)
        }
    }
    if !skipped.isEmpty { FileHandle.standardError.write(Data("skipped (not decodable): \(skipped.joined(separator: ", "))\n".utf8)) }
    return items
}

func seconds(_ duration: Duration) -> Double {
    let (s, attoseconds) = duration.components
    return Double(s) + Double(attoseconds) * 1e-18
}

/// Median seconds of one call, after a warm-up.
func measure(minRuns: Int, minTime: Double, _ body: () throws -> Void) rethrows -> (median: Double, runs: Int) {
    let clock = ContinuousClock()
    try body()
    var times: [Double] = []
    let start = clock.now
    while true {
        let t0 = clock.now
        try body()
        times.append(seconds(clock.now - t0))
        if times.count >= 200 { break }
        if times.count >= minRuns, seconds(clock.now - start) >= minTime { break }
    }
    times.sort()
    let middle = times.count / 2
    let median = times.count % 2 == 1 ? times[middle] : (times[middle - 1] + times[middle]) / 2
    return (median, times.count)
}

func rgb(_ image: Image) -> Image {
    switch image.channels {
    case 3: return image
    case 4: return image.droppingAlpha()
    default:
        return image.pixels.withUnsafeBufferPointer { gray in
            (try? Image(width: image.width, height: image.height, channels: 3, pixels: gray.flatMap { [$0, $0, $0] }))
                ?? image
        }
    }
}

struct Row {
    var image: String
    var megapixels: Double
    var op: String
    var median: Double
    var runs: Int
}

let options = parseOptions()
func note(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

let items = discover(options.paths)
let totalMP = items.reduce(0) { $0 + $1.megapixels }
note("\(items.count) decodable images, \(String(format: "%.2f", totalMP)) MP; AVX2 kernels: \(FilterKernels.usesAVX2)")

// op name (as in peers.py where it exists) -> (input kind, pipeline spec)
let filterOps: [(name: String, kind: String, spec: String)] = options.extraOps + [
    ("grayscale", "rgb", "grayscale"),
    ("gauss_sigma2", "rgb", "gaussian(sigma: 2)"),
    ("gauss_5x5", "rgb", "gaussian(size: 5)"),
    ("box_5x5", "rgb", "box(size: 5)"),
    ("sharpen", "rgb", "sharpen"),
    ("sobel_mag", "gray", "sobel"),
    ("canny_100_200", "gray", "canny(low: 100, high: 200)"),
    ("threshold_127", "rgb", "threshold(value: 127)"),
    ("invert", "rgb", "invert"),
    ("resize_half", "rgb", "resize(scale: 0.5)"),
    ("edges", "rgb", "edges"),
]

var rows: [Row] = []
let minRuns = options.minRuns, minTime = options.minTime
func selected(_ op: String) -> Bool { options.ops.map { $0.contains(op) } ?? true }

for item in items {
    if options.groups.contains("codec") {
        let decodeOp = "decode_\(item.format)"
        if selected(decodeOp) {
            let result = try measure(minRuns: minRuns, minTime: minTime) { _ = try ImageCodec().decode(item.bytes, name: item.relative) }
            rows.append(Row(image: item.relative, megapixels: item.megapixels, op: decodeOp, median: result.median, runs: result.runs))
        }
    }
    guard item.megapixels >= 0.05 else { continue }
    let colour = rgb(item.image)
    let gray = try Pipeline(parsing: "grayscale").apply(to: colour)
    if options.groups.contains("filters") {
        for op in filterOps where selected(op.name) {
            let pipeline = try Pipeline(parsing: op.spec)
            let input = op.kind == "gray" ? gray : colour
            let result = try measure(minRuns: minRuns, minTime: minTime) { _ = try pipeline.apply(to: input) }
            rows.append(Row(image: item.relative, megapixels: item.megapixels, op: op.name, median: result.median, runs: result.runs))
        }
    }
    if options.groups.contains("codec") {
        let encoders: [(String, OutputFormat)] = [("png_encode_default", .png()), ("png_encode_level6", .png(compressionLevel: 6)), ("jpeg_encode_q90", .jpeg(quality: 90))]
        for (name, format) in encoders where selected(name) {
            let result = try measure(minRuns: minRuns, minTime: minTime) { _ = try ImageCodec().encode(colour, as: format) }
            rows.append(Row(image: item.relative, megapixels: item.megapixels, op: name, median: result.median, runs: result.runs))
        }
    }
    note("  done \(item.relative) (\(item.image.width)x\(item.image.height))")
}

func aggregate(_ rows: [Row], _ predicate: (Row) -> Bool) -> [String: Double] {
    var sums: [String: (mp: Double, s: Double)] = [:]
    for row in rows where predicate(row) {
        let current = sums[row.op] ?? (0, 0)
        sums[row.op] = (current.mp + row.megapixels, current.s + row.median)
    }
    return sums.compactMapValues { $0.s > 0 ? $0.mp / $0.s : nil }
}

if !rows.isEmpty {
    let large = aggregate(rows) { $0.megapixels >= 2 }
    let photos = aggregate(rows) { $0.megapixels < 2 && $0.megapixels >= 0.05 }
    let all = aggregate(rows) { _ in true }
    let order = ["decode_png", "decode_jpeg"] + filterOps.map(\.name) + ["png_encode_default", "png_encode_level6", "jpeg_encode_q90"]
    print("\n| op | MP/s, images ≥ 2 MP | MP/s, images < 2 MP | MP/s, all |")
    print("|---|---:|---:|---:|")
    for op in order where all[op] != nil {
        func f(_ value: Double?) -> String { value.map { String(format: "%.1f", $0) } ?? "–" }
        print("| \(op) | \(f(large[op])) | \(f(photos[op])) | \(f(all[op])) |")
    }
}

if options.groups.contains("pipeline") {
    let pipeline = try Pipeline(parsing: "grayscale | gaussian(size: 5) | canny(low: 100, high: 200)")
    let codec = ImageCodec()
    func runAll() throws {
        for item in items {
            let image = try codec.decode(item.bytes, name: item.relative)
            _ = try codec.encode(try pipeline.apply(to: image), as: .png())
        }
    }
    try runAll()  // warm-up
    let clock = ContinuousClock()
    var walls: [Double] = []
    for _ in 0..<max(1, options.pipelineReps) {
        let t0 = clock.now
        try runAll()
        walls.append(seconds(clock.now - t0))
    }
    walls.sort()
    let median = walls[walls.count / 2]
    print("\nPipeline decode → grayscale → gaussian(size: 5) → canny(low: 100, high: 200) → PNG (level 1), 1 thread, \(items.count) images, \(String(format: "%.2f", totalMP)) MP")
    print(String(format: "| median %.3f s | %.2f img/s | %.1f MP/s | runs: %@ |", median, Double(items.count) / median, totalMP / median,
                 walls.map { String(format: "%.3f", $0) }.joined(separator: ", ")))
}
