import Foundation
import Testing

@testable import DistributedImaging

/// Whole jobs on an embedded cluster with real images.
@Suite("LocalCluster")
struct LocalClusterTests {
    static let fastNodes = [
        NodeConfiguration(name: "n1", policy: .optional, load: 0.5, delay: 0.001),
        NodeConfiguration(name: "n2", policy: .mandatory, load: 0.5, delay: 0.001),
    ]

    @Test("A job's outputs equal applying the pipeline directly to the same images")
    func outputsEqualDirectPipeline() async throws {
        try await withTemporaryDirectory { root in
            let names = try TestImages.writePNGs(count: 12, into: "\(root)/photos", size: 9)
            try TestImages.write(try TestImages.image(width: 5, height: 7, variant: 3), as: .jpeg(quality: 90), to: "\(root)/photos/z.jpg")
            let cluster = try LocalCluster(storageRoot: root, nodes: Self.fastNodes, seed: 1)
            let receipt = try await cluster.submit(JobRequest(inputDirectory: "photos", pipeline: "invert"))
            #expect(receipt.status == .succeeded, "\(receipt.message)")
            #expect(receipt.counts.succeeded == 13)
            #expect(receipt.pipeline == "invert")
            let pipeline = try Pipeline(parsing: "invert")
            for name in names + ["z.jpg"] {
                let input = try ImageCodec.default.decode(contentsOf: "\(root)/photos/\(name)")
                let expected = try ImageCodec.default.encode(try pipeline.apply(to: input), as: .png)
                let stem = name.split(separator: ".").dropLast().joined(separator: ".")
                let actual = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(root)/photos-out/\(stem).png")))
                #expect(actual == expected, "\(name)")
            }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: "\(root)/photos-out").filter { $0.hasPrefix(".") }
            #expect(leftovers.isEmpty)
        }
    }

    @Test("JPEG output, recursive jobs keep sub-paths, colliding stems keep full names")
    func recursiveAndCollisions() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 2, into: "\(root)/in/sub")
            try TestImages.write(try TestImages.image(), as: .png, to: "\(root)/in/a.png")
            try TestImages.write(try TestImages.image(), as: .jpeg(), to: "\(root)/in/a.jpg")
            let cluster = try LocalCluster(storageRoot: root, nodes: Self.fastNodes, seed: 2)
            let receipt = try await cluster.submit(
                JobRequest(inputDirectory: "\(root)/in", outputDirectory: "\(root)/out", pipeline: "identity", outputFormat: .jpeg(quality: 80), recursive: true))
            #expect(receipt.status == .succeeded, "\(receipt.message)")
            let outputs = Set(receipt.tasks.compactMap(\.output))
            #expect(outputs == ["out/a.png.jpg", "out/a.jpg.jpg", "out/sub/img-0000.jpg", "out/sub/img-0001.jpg"])
            for output in outputs {
                let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(root)/\(output)")))
                #expect(ImageCodec.detectFormat(bytes) == .jpeg)
            }
            // Not recursive: the sub-directory is listed as skipped.
            let flat = try await cluster.submit(JobRequest(inputDirectory: "in", outputDirectory: "flat", pipeline: "identity"))
            #expect(flat.tasks.first { $0.input == "in/sub" }?.status == .skipped)
        }
    }

    @Test("A corrupt image fails its own task, naming the file; the others succeed")
    func corruptImageFailsOnlyItsTask() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 3, into: "\(root)/in")
            try TestImages.write(text: "not a png at all", to: "\(root)/in/broken.png")
            let cluster = try LocalCluster(storageRoot: root, nodes: Self.fastNodes, seed: 3)
            let receipt = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert"))
            #expect(receipt.status == .failed)
            #expect(receipt.counts.succeeded == 3)
            #expect(receipt.counts.failed == 1)
            let broken = try #require(receipt.tasks.first { $0.input == "in/broken.png" })
            #expect(broken.status == .failed)
            #expect(broken.error?.contains("in/broken.png") == true)
            #expect(!FileManager.default.fileExists(atPath: "\(root)/in-out/broken.png"))
        }
    }

    @Test("The same seed reproduces every placement, rejection and delay")
    func seedReproduces() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 40, into: "\(root)/in")
            // 32 slots: a job's bound per node (2 × slots) is never reached, so no placement
            // depends on which node happens to be full (Docs/Cluster.md).
            let nodes = try LocalCluster.nodeConfigurations(
                count: 4, policy: .optional, loads: [0.8, 0.6, 0.5, 0.2], delay: 0.001, maxConcurrentTasks: 32)
            func run(_ seed: UInt64) async throws -> [String] {
                let cluster = try LocalCluster(storageRoot: root, nodes: nodes, seed: seed)
                // force: the same output directory again would skip the images already complete.
                let receipt = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "identity", force: true))
                #expect(receipt.status == .succeeded, "\(receipt.tasks.compactMap(\.error))")
                return receipt.tasks.map { "\($0.input) \($0.node?.rawValue ?? "-") \($0.attempts) \($0.rejections) \($0.delayed)" }
            }
            let first = try await run(99)
            #expect(try await run(99) == first)
            #expect(try await run(100) != first)
        }
    }

    @Test("A Mandatory node at its maximum queues tasks instead of rejecting them")
    func mandatoryQueues() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 16, into: "\(root)/in")
            let cluster = try LocalCluster(
                storageRoot: root, nodes: [.init(name: "solo", policy: .mandatory, load: 1, delay: 0.005, maxConcurrentTasks: 1)],
                server: .init(maxConcurrentTasks: 16), seed: 4)
            let receipt = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
            #expect(receipt.status == .succeeded)
            #expect(receipt.counts.rejections == 0)
            #expect(receipt.counts.delayed == 16)
            #expect(receipt.tasks.allSatisfy { $0.attempts == 1 })
        }
    }

    @Test("An Optional node at its maximum queues too: only its policy rejects")
    func optionalAtCapacityQueues() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 1, into: "\(root)/in")
            // Every task is accepted with a 100 ms delay, holding the node's only slot.
            let node = try ImagingNode(
                configuration: .init(name: "small", policy: .optional, load: 0, maxConcurrentTasks: 1),
                storage: try SharedStorage(root: root), scheduler: FixedScheduler(decision: .accept(delay: .milliseconds(100))),
                logger: silentLogger)
            let task = TaskRequest(jobID: JobID("j"), taskIndex: 0, inputPath: "in/img-0000.png", outputPath: "out/a.png", pipeline: "identity")
            var second = task
            second.taskIndex = 1
            second.outputPath = "out/b.png"
            let start = ContinuousClock.now
            async let first = node.execute(task)
            async let other = node.execute(second)
            let answers = await [first, other]
            #expect(answers.allSatisfy { $0.status == .succeeded })
            #expect(ContinuousClock.now - start >= .milliseconds(200))
        }
    }

    @Test("Cancelling a job stops it promptly with a cancelled receipt", .timeLimit(.minutes(1)))
    func cancellation() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 20, into: "\(root)/in")
            let cluster = try LocalCluster(
                storageRoot: root, nodes: [.init(name: "slow", policy: .mandatory, load: 1, delay: 30, maxConcurrentTasks: 2)],
                server: .init(maxConcurrentTasks: 4), seed: 5)
            let job = Task { try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "identity")) }
            try await Task.sleep(for: .milliseconds(100))
            let start = ContinuousClock.now
            job.cancel()
            let receipt = try await job.value
            #expect(ContinuousClock.now - start < .seconds(5))
            #expect(receipt.status == .cancelled)
            #expect(receipt.counts.cancelled == 20)
        }
    }

    @Test("Draining: a node rejects new tasks and waits for those in flight")
    func drain() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 1, into: "\(root)/in")
            let node = try ImagingNode(
                configuration: .init(name: "d", policy: .mandatory, load: 1, delay: 0.1),
                storage: try SharedStorage(root: root), logger: silentLogger)
            let task = TaskRequest(jobID: JobID("j"), taskIndex: 0, inputPath: "in/img-0000.png", outputPath: "out/a.png", pipeline: "identity")
            async let first = node.execute(task)
            while node.activeTasks == 0 { try await Task.sleep(for: .milliseconds(1)) }
            await node.drain()
            #expect(node.activeTasks == 0)
            #expect(await first.status == .succeeded)
            #expect(await node.execute(task).status == .rejected)
        }
    }
}

/// Always answers the same.
struct FixedScheduler: Scheduler {
    var decision: SchedulingDecision
    func decide(on task: TaskRequest, load: Double, using generator: inout some RandomNumberGenerator) -> SchedulingDecision {
        self.decision
    }
}
