import DistributedImaging
import Foundation
import Synchronization
import Testing

/// What `dip-client` prints, decided in the library: event lines, progress, the end of a job,
/// re-runs, the jobs table and the demonstration cluster's loads.
@Suite("Client reporting")
struct ClientReportingTests {
    static func task(_ input: String, _ status: JobReceipt.Outcome, attempts: Int = 1, error: String? = nil) -> JobReceipt.Task {
        JobReceipt.Task(input: input, output: "out/\(input)", status: status, node: NodeID("n1"), attempts: attempts, error: error)
    }

    @Test("Failures always get a line; other ended tasks and rejections unless quiet; nothing else")
    func eventLines() {
        let failed = JobEvent.completed(Self.task("a", .failed, error: "broken"))
        let succeeded = JobEvent.completed(Self.task("b", .succeeded))
        let rejected = JobEvent.rejected(taskIndex: 0, input: "c", node: NodeID("n1"), attempt: 1, reason: "busy")
        let placed = JobEvent.placed(taskIndex: 0, input: "c", node: NodeID("n1"), attempt: 1)
        #expect(failed.progressLine(quiet: true) == "  \(failed)")
        #expect(succeeded.progressLine(quiet: true) == nil && succeeded.progressLine(quiet: false) == "  \(succeeded)")
        #expect(rejected.progressLine(quiet: true) == nil && rejected.progressLine(quiet: false) != nil)
        #expect(placed.progressLine(quiet: false) == nil)
    }

    @Test("The progress reporter prints event lines and plain progress lines to the places it is given")
    func reporter() async throws {
        let said = Mutex<[String]>([])
        let progress = Mutex<String>("")
        let reporter = ProgressReporter(
            quiet: false, mode: .lines, eventLines: false, progress: { text in progress.withLock { $0 += text } },
            say: { line in said.withLock { $0.append(line) } })
        let receipt = JobReceipt(
            jobID: JobID("j"), status: .failed, input: "in", output: "out", pipeline: "edges",
            tasks: [Self.task("a", .failed, error: "broken")], elapsed: 1, message: "1 task failed")
        let returned = try await reporter.run({ onEvent in
            await onEvent(.started(jobID: JobID("j"), tasks: 1, skipped: 0))
            await onEvent(.completed(Self.task("a", .failed, error: "broken")))
            await onEvent(.finished(receipt))
            return receipt
        }) { $0.progressLine(quiet: false) }
        #expect(returned == receipt)
        #expect(said.withLock { $0 }.count == 1)
        let text = progress.withLock { $0 }
        #expect(text.hasPrefix("progress: 0/1 tasks done"), "\(text)")
        #expect(text.contains("progress: 1/1 tasks done, 1 failed"), "\(text)")
    }

    @Test("A job's end: skipped, never-placed failures, the counts, and the message unless it succeeded")
    func endLines() {
        let receipt = JobReceipt(
            jobID: JobID("j"), status: .failed, input: "in", output: "out", pipeline: "edges",
            tasks: [Self.task("a", .succeeded), Self.task("b", .failed, attempts: 0, error: "unreadable")], elapsed: 1.5,
            message: "1 task failed")
        let lines = receipt.endLines
        #expect(lines.first == "  failed b: unreadable")
        #expect(lines.contains { $0.hasPrefix("failed: 1 succeeded, 1 failed, 0 skipped;") && $0.hasSuffix("1.500 s") }, "\(lines)")
        #expect(lines.last == "1 task failed")
    }

    @Test("The storage root is found from where the receipt lies", arguments: [
        ("/data/photos-out", "photos-out", "/data"),
        ("/data/photos-out", ".", "/data/photos-out"),
        ("/elsewhere/copy", "photos-out", "/elsewhere"),
        ("/photos-out", "photos-out", "/"),
    ])
    func storageRoot(directory: String, output: String, root: String) {
        let receipt = JobReceipt(jobID: JobID("j"), status: .failed, input: "photos", output: output, pipeline: "edges", tasks: [], elapsed: 0, message: "")
        #expect(receipt.storageRoot(receiptDirectory: directory) == root)
    }

    @Test("A receipt file's failures re-run, with absolute paths for an embedded cluster")
    func rerunFile() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dip-rerun-\(UUID().uuidString)")
        let directory = root.appendingPathComponent("photos-out")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let receipt = JobReceipt(
            jobID: JobID("j"), status: .failed, input: "photos", output: "photos-out", pipeline: "edges",
            tasks: [Self.task("photos/a.png", .failed, error: "x"), Self.task("photos/b.png", .succeeded)], elapsed: 1, message: "")
        let file = directory.appendingPathComponent("receipt.json")
        try Data(try JobReceipt.encodeJSON(receipt)).write(to: file)
        let rerun = try JobRequest.Rerun(receiptAt: file.path, named: "receipt.json")
        #expect(rerun.storageRoot == root.path)
        #expect(rerun.request.only == ["photos/a.png"])
        #expect(rerun.absoluteRequest.inputDirectory == root.path + "/photos")
        #expect(rerun.absoluteRequest.outputDirectory == root.path + "/photos-out")
        #expect(rerun.announcement(named: "r.json").hasPrefix("re-running 1 failed task of job j (photos → photos-out"))
        let missing = #expect(throws: DistributedImagingError.self) {
            try JobRequest.Rerun(receiptAt: root.appendingPathComponent("none.json").path, named: "none.json")
        }
        #expect(missing?.code == .invalidArgument && missing?.message.contains("none.json") == true)
    }

    @Test("Demonstration loads: given, or the default ones repeated; a bad one is named")
    func loads() throws {
        #expect(try LocalCluster.loads(parsing: nil, count: 5) == [0.8, 0.6, 0.5, 0.2, 0.8])
        #expect(try LocalCluster.loads(parsing: "0.1, 0.9", count: 2) == [0.1, 0.9])
        let error = #expect(throws: DistributedImagingError.self) { try LocalCluster.loads(parsing: "0.1,lots", count: 2) }
        #expect(error?.message.contains("'lots'") == true)
    }
}
