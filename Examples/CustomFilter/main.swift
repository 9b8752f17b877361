// A custom filter registered beside the standard ones and used in a pipeline on an embedded
// cluster.
//
//     swift run CustomFilter /path/to/photos
//
// `posterize(levels: 4)` keeps `levels` values per channel; outputs go to `photos-posterized`.
import DistributedImaging
import Foundation

/// Quantises every channel (alpha included) to `levels` evenly spaced values.
struct PosterizeFilter: ImageFilter {
    let levels: Int

    func apply(to image: Image) throws -> Image {
        let step = 255.0 / Double(self.levels - 1)
        var output = image
        for index in output.pixels.indices {
            let level = (Double(output.pixels[index]) / step).rounded()
            output.pixels[index] = UInt8(min(255, level * step))
        }
        return output
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    print("usage: CustomFilter INPUT_DIR")
    exit(2)
}
let input = URL(fileURLWithPath: arguments[1]).standardizedFileURL

// The standard filters plus ours; pipelines are checked against this registry.
var registry = FilterRegistry.standard
registry.register(
    "posterize", summary: "keep `levels` values per channel",
    parameters: [.init("levels", default: 4, range: 2...256, isInteger: true)]
) { arguments in
    PosterizeFilter(levels: Int(arguments["levels"]))
}

let cluster = try LocalCluster(
    storageRoot: input.deletingLastPathComponent().path,
    nodes: [.init(name: "a", policy: .mandatory, load: 0, delay: 0), .init(name: "b", policy: .mandatory, load: 0, delay: 0)],
    registry: registry)
let request = JobRequest(
    inputDirectory: input.path, outputDirectory: input.path + "-posterized",
    pipeline: "gaussian(sigma: 1) | posterize(levels: 3)", force: true)
let receipt = try await cluster.submit(request)
print("\(receipt.status): \(receipt.message)")
print("receipt: \(receipt.output)/receipt.json")
exit(receipt.status == .succeeded ? 0 : 1)
