import ArgumentParser
import DistributedImaging

/// `dip-client apply`: runs a pipeline on one image, locally.
struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a pipeline on one image locally, without a cluster.",
        discussion: """
            The output format follows OUTPUT's extension: .png, or .jpg/.jpeg. Colour is saved as RGB.
            \(FilterRegistry.standard.helpText)
            """
    )

    @Option(name: .long, help: "The pipeline, e.g. 'grayscale | gaussian(sigma: 2)'.")
    var pipeline: String = JobRequest.defaultPipeline

    @Option(name: .long, help: "JPEG quality 1...100 when OUTPUT is a JPEG.")
    var quality: Int = 95

    @Option(name: .long, help: "The largest image accepted, in megapixels.")
    var maxMegapixels: Double = 100

    @Argument(help: "The input image (PNG or JPEG; the format is read from the file's signature).")
    var input: String

    @Argument(help: "The output image (.png, .jpg or .jpeg).")
    var output: String

    func run() async throws {
        let codec = ImageCodec(limits: try .init(maxMegapixels: self.maxMegapixels, key: "--max-megapixels"))
        let processor = try ImageProcessor(pipeline: self.pipeline, codec: codec)
        try processor.process(input: self.input, output: self.output, format: try OutputFormat(forPath: self.output, quality: self.quality))
    }
}
