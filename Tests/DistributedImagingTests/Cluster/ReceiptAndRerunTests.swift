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
}
