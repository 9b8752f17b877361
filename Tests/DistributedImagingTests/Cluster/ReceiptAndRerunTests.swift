import Foundation
import Synchronization
import Testing

@testable import DistributedImaging

/// `receipt.json` in the output directory, re-runs that skip complete images, `only`.
@Suite("Receipts and re-runs")
struct ReceiptAndRerunTests {
    static let nodes = [NodeConfiguration(name: "n1", policy: .mandatory, load: 0, delay: 0.001)]

    static func readReceipt(_ path: String) throws -> JobReceipt {
        try JobReceipt.decodeJSON(Array(try Data(contentsOf: URL(fileURLWithPath: path))), source: path)
    }

    @Test("Every job writes its receipt to <output>/receipt.json, equal to the returned one")
    func receiptOnDisk() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 3, into: "\(root)/in")
            let cluster = try LocalCluster(storageRoot: root, nodes: Self.nodes, seed: 1)
            let receipt = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert"))
            #expect(try Self.readReceipt("\(root)/in-out/receipt.json") == receipt)
        }
    }

    @Test("While the job runs, receipt.json says running and lists the tasks ended so far")
    func receiptWhileRunning() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 4, into: "\(root)/in")
            let cluster = try LocalCluster(
                storageRoot: root, nodes: [.init(name: "n1", policy: .mandatory, load: 1, delay: 0.2, maxConcurrentTasks: 1)],
                server: .init(maxConcurrentTasks: 1), seed: 1)
            let seen = Mutex<[JobReceipt]>([])
            let path = "\(root)/in-out/receipt.json"
            _ = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert")) { event in
                switch event {
                case .started, .completed:
                    if let receipt = try? Self.readReceipt(path) { seen.withLock { $0.append(receipt) } }
                default: break
                }
            }
            let snapshots = seen.withLock { $0 }
            #expect(snapshots.first?.status == .running)
            #expect(snapshots.first?.tasks.isEmpty == true)
            // Tasks take 0.2 s each, so the 0.5 s interval allows rewrites mid-job.
            #expect(snapshots.contains { $0.status == .running && !$0.tasks.isEmpty && $0.tasks.count < 4 })
            #expect(try Self.readReceipt(path).status == .succeeded)
        }
    }

    @Test("A second run skips complete images with a reason; force redoes them; a missing output is redone")
    func rerunSkipsComplete() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 3, into: "\(root)/in")
            try TestImages.write(text: "not a png", to: "\(root)/in/broken.png")
            let cluster = try LocalCluster(storageRoot: root, nodes: Self.nodes, seed: 1)
            let first = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert"))
            #expect(first.counts.succeeded == 3)
            #expect(first.counts.failed == 1)

            let redoOne = try #require(first.tasks.first { $0.status == .succeeded }?.output)
            try FileManager.default.removeItem(atPath: "\(root)/\(redoOne)")
            let second = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert"))
            #expect(second.counts.succeeded == 1)
            #expect(second.counts.failed == 1)
            #expect(second.tasks.filter { $0.error?.hasPrefix("already complete") == true }.count == 2)

            // A third run still counts the entries skipped as complete as complete.
            let third = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert"))
            #expect(third.counts.succeeded == 0)
            #expect(third.tasks.filter { $0.error?.hasPrefix("already complete") == true }.count == 3)

            let other = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "grayscale"))
            #expect(other.counts.succeeded == 3)
            let forced = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "grayscale", force: true))
            #expect(forced.counts.succeeded == 3)
        }
    }

    @Test("Re-running a receipt's failures runs only those")
    func onlyFailures() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 3, into: "\(root)/in")
            try TestImages.write(text: "not a png", to: "\(root)/in/broken.png")
            let cluster = try LocalCluster(storageRoot: root, nodes: Self.nodes, seed: 1)
            let first = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert", force: true))
            let request = JobRequest(rerunningFailuresOf: first)
            #expect(request.only == ["in/broken.png"])
            // Even with force, `only` limits the job to the failures.
            var forced = request
            forced.force = true
            let again = try await cluster.submit(forced)
            #expect(again.counts.failed == 1)
            #expect(again.counts.succeeded == 0)
            #expect(again.tasks.filter { $0.error == "not selected (only)" }.count == 3)
        }
    }

    static func complete(_ receipt: JobReceipt) -> Set<String> {
        Set(receipt.tasks.filter { $0.error?.hasPrefix("already complete") == true }.map(\.input))
    }

    static func ran(_ receipt: JobReceipt) -> Set<String> {
        Set(receipt.tasks.filter { $0.status == .succeeded }.map(\.input))
    }

    @Test("Receipts record the input's size and modification time and the output's size")
    func receiptRecordsFileState() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 2, into: "\(root)/in")
            let cluster = try LocalCluster(storageRoot: root, nodes: Self.nodes, seed: 1)
            let receipt = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert"))
            for task in receipt.tasks {
                let input = try FileManager.default.attributesOfItem(atPath: "\(root)/\(task.input)")
                let output = try FileManager.default.attributesOfItem(atPath: "\(root)/\(try #require(task.output))")
                #expect(task.inputSize == (input[.size] as? NSNumber)?.int64Value)
                #expect(task.outputSize == (output[.size] as? NSNumber)?.int64Value)
                let modified = try #require(input[.modificationDate] as? Date).timeIntervalSince1970
                let recorded = Double(try #require(task.inputModifiedNanoseconds)) / 1e9
                #expect(abs(recorded - modified) < 0.001)
            }
            // The JSON form carries them, and decodes to the same receipt.
            #expect(try Self.readReceipt("\(root)/in-out/receipt.json") == receipt)
        }
    }

    @Test("A re-run runs an edited input (new size, or same size and new time) and a truncated output; skips the rest")
    func rerunRechecksFiles() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 4, into: "\(root)/in")
            let cluster = try LocalCluster(storageRoot: root, nodes: Self.nodes, seed: 1)
            let first = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert"))
            #expect(first.counts.succeeded == 4)

            // Unchanged: everything is skipped.
            let unchanged = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert"))
            #expect(unchanged.counts.succeeded == 0)
            #expect(Self.complete(unchanged).count == 4)

            // 0: edited with another size. 1: rewritten with the same size, modified a minute later.
            try TestImages.write(try TestImages.image(width: 5, height: 5, variant: 9), as: .png, to: "\(root)/in/img-0000.png")
            let sameSize = "\(root)/in/img-0001.png"
            let oldSize = try #require(first.tasks.first { $0.input == "in/img-0001.png" }?.inputSize)
            try TestImages.write(try TestImages.image(width: 4, height: 4, variant: 1), as: .png, to: sameSize)
            let later = try #require(
                try FileManager.default.attributesOfItem(atPath: sameSize)[.modificationDate] as? Date).addingTimeInterval(60)
            try FileManager.default.setAttributes([.modificationDate: later], ofItemAtPath: sameSize)
            #expect((try FileManager.default.attributesOfItem(atPath: sameSize)[.size] as? NSNumber)?.int64Value == oldSize)
            // 2: the output truncated, as a crash before the data reached the disk leaves it.
            let truncated = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(root)/in-out/img-0002.png"))
            try truncated.truncate(atOffset: 0)
            try truncated.close()

            let second = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert"))
            #expect(Self.ran(second) == ["in/img-0000.png", "in/img-0001.png", "in/img-0002.png"])
            #expect(Self.complete(second) == ["in/img-0003.png"])
            let output = try ImageCodec.default.decode(
                Array(try Data(contentsOf: URL(fileURLWithPath: "\(root)/in-out/img-0002.png"))), name: "img-0002.png")
            #expect(output.width == 4)

            // And the third run skips all four again (skipped-as-complete entries keep the values).
            let third = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert"))
            #expect(Self.complete(third).count == 4)
            let fourth = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert"))
            #expect(Self.complete(fourth).count == 4)
        }
    }

    @Test("A receipt written before file state was recorded counts nothing as complete")
    func oldReceiptReruns() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 2, into: "\(root)/in")
            let cluster = try LocalCluster(storageRoot: root, nodes: Self.nodes, seed: 1)
            _ = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert"))
            // Strip the new keys, as an older server wrote the file.
            let path = "\(root)/in-out/receipt.json"
            var json = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
            let tasks = try #require(json["tasks"] as? [[String: Any]])
            json["tasks"] = tasks.map { task in
                task.filter { !["inputSize", "inputModifiedNanoseconds", "outputSize"].contains($0.key) }
            }
            try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
            let old = try Self.readReceipt(path)
            #expect(old.tasks.allSatisfy { $0.inputSize == nil && $0.outputSize == nil && $0.status == .succeeded })

            let again = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert"))
            #expect(again.counts.succeeded == 2)
            #expect(Self.complete(again).isEmpty)
        }
    }

    @Test("durableWrites: every output is flushed (file, then directory) and whole; the key decodes")
    func durableWrites() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 5, into: "\(root)/in")
            var node = Self.nodes[0]
            node.durableWrites = true
            let cluster = try LocalCluster(storageRoot: root, nodes: [node], seed: 1)
            let before = FileIO.durableWrites.load(ordering: .relaxed)
            let receipt = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert"))
            #expect(receipt.counts.succeeded == 5)
            #expect(FileIO.durableWrites.load(ordering: .relaxed) - before >= 5)
            for task in receipt.tasks {
                let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: "\(root)/\(try #require(task.output))")))
                #expect(Int64(bytes.count) == task.outputSize)
                #expect(try ImageCodec.default.decode(bytes, name: task.input).width == 4)
            }
            let decoded = try JSONDecoder().decode(NodeConfiguration.self, from: Data(#"{"name":"a","durableWrites":true}"#.utf8))
            #expect(decoded.durableWrites)
            #expect(try JSONDecoder().decode(NodeConfiguration.self, from: Data(#"{"name":"a"}"#.utf8)).durableWrites == false)
        }
    }
}
