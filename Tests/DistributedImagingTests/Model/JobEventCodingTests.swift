import DistributedImaging
import Foundation
import Testing

/// The JSON schema of ``JobEvent`` (`dip-client submit --events jsonl`): one flat object with an
/// `"event"` discriminator per event.
@Suite("JobEvent JSON schema")
struct JobEventCodingTests {
    static let task = JobReceipt.Task(
        input: "in/a.png", output: "out/a.png", status: .succeeded, node: NodeID("n1"), attempts: 2, rejections: 1,
        delayed: true, elapsed: 0.5, error: nil, lostAttempts: [])
    static let receipt = JobReceipt(
        jobID: JobID("abc"), status: .succeeded, input: "in", output: "out", pipeline: "invert", tasks: [task],
        elapsed: 1.25, message: "1 of 1 tasks succeeded")

    func encode(_ event: JobEvent) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(event), as: UTF8.self)
    }

    func object(_ json: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    @Test("started, placed and rejected are flat objects with the case's values")
    func flatEvents() throws {
        #expect(
            try self.encode(.started(jobID: JobID("abc"), tasks: 3, skipped: 1))
                == #"{"event":"started","jobID":"abc","skipped":1,"tasks":3}"#)
        #expect(
            try self.encode(.placed(taskIndex: 2, input: "in/a.png", node: NodeID("n1"), attempt: 1))
                == #"{"attempt":1,"event":"placed","input":"in/a.png","node":"n1","taskIndex":2}"#)
        #expect(
            try self.encode(.rejected(taskIndex: 2, input: "in/a.png", node: NodeID("n1"), attempt: 1, reason: "busy"))
                == #"{"attempt":1,"event":"rejected","input":"in/a.png","node":"n1","reason":"busy","taskIndex":2}"#)
    }

    @Test("completed holds the task under \"task\"; finished holds the receipt under \"receipt\"; no \"_0\"")
    func nestedEvents() throws {
        let completed = try self.encode(.completed(Self.task))
        #expect(!completed.contains("_0"))
        let completedObject = try self.object(completed)
        #expect(Set(completedObject.keys) == ["event", "task"])
        #expect(completedObject["event"] as? String == "completed")
        let task = try #require(completedObject["task"] as? [String: Any])
        #expect(task["input"] as? String == "in/a.png")
        #expect(task["attempts"] as? Int == 2)
        #expect(task.keys.contains("error"))  // absent values are null, as in receipts

        let finished = try self.encode(.finished(Self.receipt))
        #expect(!finished.contains("_0"))
        let finishedObject = try self.object(finished)
        #expect(Set(finishedObject.keys) == ["event", "receipt"])
        #expect(finishedObject["event"] as? String == "finished")
        let receipt = try #require(finishedObject["receipt"] as? [String: Any])
        #expect(receipt["jobID"] as? String == "abc")
        #expect(receipt["status"] as? String == "succeeded")
    }

    @Test(
        "Every case round-trips",
        arguments: [
            JobEvent.started(jobID: JobID("abc"), tasks: 3, skipped: 1),
            .placed(taskIndex: 2, input: "in/a.png", node: NodeID("n1"), attempt: 1),
            .rejected(taskIndex: 2, input: "in/a.png", node: NodeID("n1"), attempt: 4, reason: "busy"),
            .completed(task),
            .finished(receipt),
        ])
    func roundTrip(event: JobEvent) throws {
        let decoded = try JSONDecoder().decode(JobEvent.self, from: Data(try self.encode(event).utf8))
        #expect(decoded == event)
    }

    @Test("An unknown event, or a missing value, is refused")
    func refused() {
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(JobEvent.self, from: Data(#"{"event":"exploded"}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(JobEvent.self, from: Data(#"{"completed":{"_0":{}}}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(JobEvent.self, from: Data(#"{"event":"started","jobID":"abc","tasks":3}"#.utf8))
        }
    }

    @Test("The failures selection keeps the start, the snapshot, failed tasks and the end, and is what --quiet prints")
    func failuresSelection() {
        var failed = Self.task
        failed.status = .failed
        var skipped = Self.task
        skipped.status = .skipped
        let record = JobRecord(
            id: JobID("abc"), request: JobRequest(inputDirectory: "in"), input: "in", output: "out", pipeline: "invert",
            tasks: 3, skipped: 1, submitted: Date(timeIntervalSince1970: 0))
        let kept: [JobEvent] = [.started(jobID: JobID("abc"), tasks: 3, skipped: 1), .snapshot(record), .completed(failed), .finished(Self.receipt)]
        let dropped: [JobEvent] = [
            .placed(taskIndex: 0, input: "in/a.png", node: NodeID("n1"), attempt: 1),
            .rejected(taskIndex: 0, input: "in/a.png", node: NodeID("n1"), attempt: 1, reason: "busy"),
            .completed(Self.task), .completed(skipped),
        ]
        for event in kept + dropped { #expect(event.isSelected(by: .all)) }
        for event in kept { #expect(event.isSelected(by: .failures), "\(event)") }
        for event in dropped { #expect(!event.isSelected(by: .failures), "\(event)") }
        // A quiet follower prints a line for no event the selection drops.
        for event in dropped { #expect(event.progressLine(quiet: true) == nil, "\(event)") }
    }
}
