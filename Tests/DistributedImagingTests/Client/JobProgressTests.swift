import Testing

@testable import DistributedImaging

@Suite("JobProgress")
struct JobProgressTests {
    static func task(_ input: String, _ status: JobReceipt.Outcome, delayed: Bool = false) -> JobReceipt.Task {
        JobReceipt.Task(input: input, output: "out/\(input)", status: status, node: NodeID("n1"), attempts: 1, delayed: delayed)
    }

    @Test("Counts, rate and ETA follow the events")
    func countsRateAndETA() {
        var progress = JobProgress()
        #expect(progress.estimatedSecondsLeft(at: 0) == nil)
        progress.record(.started(jobID: JobID("j"), tasks: 4, skipped: 1), at: 10)
        progress.record(.placed(taskIndex: 0, input: "a", node: NodeID("n1"), attempt: 1), at: 10)
        progress.record(.placed(taskIndex: 1, input: "b", node: NodeID("n2"), attempt: 1), at: 10)
        #expect(progress.inFlight == 2)
        progress.record(.rejected(taskIndex: 1, input: "b", node: NodeID("n2"), attempt: 1, reason: "busy"), at: 10.5)
        progress.record(.placed(taskIndex: 1, input: "b", node: NodeID("n1"), attempt: 2), at: 10.5)
        progress.record(.completed(Self.task("a", .succeeded, delayed: true)), at: 11)
        progress.record(.completed(Self.task("b", .failed)), at: 12)
        #expect(progress.done == 2)
        #expect(progress.failed == 1)
        #expect(progress.rejections == 1)
        #expect(progress.replacements == 1)
        #expect(progress.delayed == 1)
        #expect(progress.inFlight == 0)
        #expect(progress.rate(at: 12) == 1)  // 2 tasks in 2 s
        #expect(progress.estimatedSecondsLeft(at: 12) == 2)  // 2 left at 1/s
        #expect(progress.bar(width: 10, at: 12) == "[#####.....] 2/4 50% 1 failed 1 rej 1.0/s ETA 2s")
        #expect(progress.line(at: 12) == "progress: 2/4 tasks done, 1 failed, 0 in flight, 1 rejections, 1.0/s, ETA 2s")
    }

    @Test("A finished job shows a full bar and its duration")
    func finished() {
        var progress = JobProgress()
        progress.record(.started(jobID: JobID("j"), tasks: 1, skipped: 0), at: 0)
        progress.record(.completed(Self.task("a", .succeeded)), at: 1)
        let receipt = JobReceipt(jobID: JobID("j"), status: .succeeded, input: "in", output: "out", pipeline: "edges", tasks: [], elapsed: 1, message: "")
        progress.record(.finished(receipt), at: 1)
        #expect(progress.isFinished)
        #expect(progress.bar(width: 4, at: 1) == "[####] 1/1 100% 1.0/s in 1s")
    }

    @Test("Durations read as people write them", arguments: [(0.2, "1s"), (42.0, "42s"), (185.0, "3m05s"), (7260.0, "2h01m")])
    func durations(seconds: Double, text: String) {
        #expect(JobProgress.format(duration: seconds) == text)
    }
}

@Suite("Receipt summaries")
struct ReceiptSummaryTests {
    @Test("Skipped entries are listed one by one up to the limit, then summarised per reason")
    func skippedLines() {
        let complete = (0..<7).map { index in
            JobReceipt.Task(input: "in/\(index).png", output: "out/\(index).png", status: .skipped, error: "already complete: output written by job j\(index % 2)")
        }
        let other = JobReceipt.Task(input: "in/notes.txt", output: nil, status: .skipped, error: "not a .png, .jpg or .jpeg file")
        let receipt = JobReceipt(
            jobID: JobID("j"), status: .succeeded, input: "in", output: "out", pipeline: "edges", tasks: complete + [other], elapsed: 0, message: "")
        #expect(
            receipt.skippedLines(limit: 5) == [
                "skipped 7 entries (in/0.png, in/1.png, …): already complete for the same pipeline (force redoes them)",
                "skipped in/notes.txt: not a .png, .jpg or .jpeg file",
            ])
        #expect(receipt.skippedLines(limit: 10).count == 8)
    }
}
