import Foundation
import Testing

@testable import DistributedImaging

/// No job touches its inputs: overlapping input and output directories are refused before any
/// task runs, in either direction and through symbolic links; a node refuses to write an output
/// that is its own input.
@Suite("Input protection")
struct InputProtectionTests {
    static let nodes = [NodeConfiguration(name: "n1", policy: .mandatory, load: 0, delay: 0)]

    /// `w2/d/x.png` and `w2/d/d/x.png` (different images), as in issue #11.
    static func writeNested(_ root: String) throws -> [String: Data] {
        try FileManager.default.createDirectory(atPath: "\(root)/w2/d/d", withIntermediateDirectories: true)
        try TestImages.write(try TestImages.image(variant: 1), as: .png, to: "\(root)/w2/d/x.png")
        try TestImages.write(try TestImages.image(variant: 2), as: .png, to: "\(root)/w2/d/d/x.png")
        return try Self.snapshot(root, ["w2/d/x.png", "w2/d/d/x.png"])
    }

    static func snapshot(_ root: String, _ paths: [String]) throws -> [String: Data] {
        var contents: [String: Data] = [:]
        for path in paths { contents[path] = try Data(contentsOf: URL(fileURLWithPath: "\(root)/\(path)")) }
        return contents
    }

    /// Submits and expects a refusal with `invalidArgument` before any task ran.
    static func expectRefused(_ cluster: LocalCluster, _ request: JobRequest) async {
        let events = EventLog()
        let error = await #expect(throws: DistributedImagingError.self) {
            try await cluster.submit(request) { events.record($0) }
        }
        #expect(error?.code == .invalidArgument, "\(String(describing: error))")
        #expect(events.events.isEmpty, "no task may start: \(events.events)")
    }

    @Test("Input inside output is refused, recursive or not; the inputs stay as they were", arguments: [true, false])
    func inputInsideOutput(recursive: Bool) async throws {
        try await withTemporaryDirectory { root in
            let before = try Self.writeNested(root)
            let cluster = try LocalCluster(storageRoot: root, nodes: Self.nodes, seed: 1)
            await Self.expectRefused(
                cluster, JobRequest(inputDirectory: "w2/d", outputDirectory: "w2", pipeline: "invert", recursive: recursive))
            // The storage root as output holds every input.
            await Self.expectRefused(
                cluster, JobRequest(inputDirectory: "w2/d", outputDirectory: ".", pipeline: "invert", recursive: recursive))
            #expect(try Self.snapshot(root, Array(before.keys)) == before)
            #expect(!FileManager.default.fileExists(atPath: "\(root)/w2/receipt.json"))
        }
    }

    @Test("Output inside or equal to the input is refused, recursive or not", arguments: [true, false])
    func outputInsideInput(recursive: Bool) async throws {
        try await withTemporaryDirectory { root in
            let before = try Self.writeNested(root)
            let cluster = try LocalCluster(storageRoot: root, nodes: Self.nodes, seed: 1)
            for output in ["w2/d", "w2/d/d", "w2/d/new", "\(root)/w2/d/d/"] {
                await Self.expectRefused(
                    cluster, JobRequest(inputDirectory: "w2/d", outputDirectory: output, pipeline: "invert", recursive: recursive))
            }
            #expect(try Self.snapshot(root, Array(before.keys)) == before)
        }
    }

    @Test("Overlap through a symbolic link is refused in both directions")
    func overlapThroughSymlinks() async throws {
        try await withTemporaryDirectory { root in
            let before = try Self.writeNested(root)
            let files = FileManager.default
            // `up` is the parent of the input under another name; `down` is the input's child.
            try files.createSymbolicLink(atPath: "\(root)/up", withDestinationPath: "\(root)/w2")
            try files.createSymbolicLink(atPath: "\(root)/down", withDestinationPath: "\(root)/w2/d/d")
            let cluster = try LocalCluster(storageRoot: root, nodes: Self.nodes, seed: 1)
            await Self.expectRefused(cluster, JobRequest(inputDirectory: "w2/d", outputDirectory: "up", pipeline: "invert", recursive: true))
            await Self.expectRefused(cluster, JobRequest(inputDirectory: "w2/d", outputDirectory: "down", pipeline: "invert"))
            await Self.expectRefused(cluster, JobRequest(inputDirectory: "up/d", outputDirectory: "w2", pipeline: "invert"))
            #expect(try Self.snapshot(root, Array(before.keys)) == before)
        }
    }

    @Test("A symbolic link inside the output or the input that would put a write on an input is refused")
    func fileLevelSymlinks() async throws {
        try await withTemporaryDirectory { root in
            let files = FileManager.default
            try TestImages.writePNGs(count: 2, into: "\(root)/in")
            try files.createDirectory(atPath: "\(root)/out", withIntermediateDirectories: true)
            // A stale output that is a link to the input of the same name.
            try files.createSymbolicLink(atPath: "\(root)/out/img-0000.png", withDestinationPath: "\(root)/in/img-0000.png")
            let before = try Self.snapshot(root, ["in/img-0000.png", "in/img-0001.png"])
            let cluster = try LocalCluster(storageRoot: root, nodes: Self.nodes, seed: 1)
            await Self.expectRefused(cluster, JobRequest(inputDirectory: "in", outputDirectory: "out", pipeline: "invert"))

            // An input that is a link into the output directory.
            try files.createDirectory(atPath: "\(root)/in2", withIntermediateDirectories: true)
            try files.createDirectory(atPath: "\(root)/out2", withIntermediateDirectories: true)
            try TestImages.write(try TestImages.image(), as: .png, to: "\(root)/out2/b.png")
            try files.createSymbolicLink(atPath: "\(root)/in2/a.png", withDestinationPath: "\(root)/out2/b.png")
            try TestImages.write(try TestImages.image(variant: 3), as: .png, to: "\(root)/in2/b.png")
            let linked = try Self.snapshot(root, ["out2/b.png"])
            await Self.expectRefused(cluster, JobRequest(inputDirectory: "in2", outputDirectory: "out2", pipeline: "invert"))
            #expect(try Self.snapshot(root, ["in/img-0000.png", "in/img-0001.png"]) == before)
            #expect(try Self.snapshot(root, ["out2/b.png"]) == linked)
        }
    }

    @Test("A symbolic link to a file outside the storage root fails its own task; the job still runs the others")
    func fileLinkOutsideRoot() async throws {
        try await withTemporaryDirectory { outside in
            try await withTemporaryDirectory { root in
                try TestImages.writePNGs(count: 2, into: "\(root)/in")
                try TestImages.write(try TestImages.image(variant: 4), as: .png, to: "\(outside)/secret.png")
                try FileManager.default.createSymbolicLink(atPath: "\(root)/in/escape.png", withDestinationPath: "\(outside)/secret.png")
                let cluster = try LocalCluster(storageRoot: root, nodes: Self.nodes, seed: 1)
                let receipt = try await cluster.submit(JobRequest(inputDirectory: "in", outputDirectory: "out", pipeline: "invert"))
                #expect(receipt.status == .failed)
                #expect(receipt.counts.succeeded == 2, "\(receipt.tasks)")
                let escape = try #require(receipt.tasks.first { $0.input == "in/escape.png" })
                #expect(escape.status == .failed && escape.error?.contains("outside the storage root") == true, "\(escape)")
            }
        }
    }

    @Test("A node refuses a task whose output is its input: same path, a symlink to it, or a hard link")
    func nodeRefusesOwnInput() async throws {
        try await withTemporaryDirectory { root in
            let files = FileManager.default
            try TestImages.writePNGs(count: 1, into: "\(root)/in")
            try files.createDirectory(atPath: "\(root)/out", withIntermediateDirectories: true)
            try files.createSymbolicLink(atPath: "\(root)/out/link.png", withDestinationPath: "\(root)/in/img-0000.png")
            try files.linkItem(atPath: "\(root)/in/img-0000.png", toPath: "\(root)/out/hard.png")
            let before = try Self.snapshot(root, ["in/img-0000.png"])
            let storage = try SharedStorage(root: root)
            let node = try ImagingNode(configuration: Self.nodes[0], storage: storage, logger: silentLogger)
            for output in ["in/img-0000.png", "in/./img-0000.png", "out/link.png", "out/hard.png"] {
                let receipt = await node.execute(
                    TaskRequest(jobID: JobID("j"), taskIndex: 0, inputPath: "in/img-0000.png", outputPath: output, pipeline: "invert"))
                #expect(receipt.status == .failed, "\(output)")
                #expect(receipt.error?.contains("is the input file itself") == true, "\(output): \(receipt.error ?? "")")
            }
            #expect(try Self.snapshot(root, ["in/img-0000.png"]) == before)
            // A different output still works.
            let fine = await node.execute(
                TaskRequest(jobID: JobID("j"), taskIndex: 0, inputPath: "in/img-0000.png", outputPath: "out/ok.png", pipeline: "invert"))
            #expect(fine.status == .succeeded)
        }
    }
}
