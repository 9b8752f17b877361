import DistributedImaging
@testable import DistributedImagingGRPC
import Testing

/// Queue wait, delay, processing, makespan and latency percentiles cross the wire, range-checked.
@Suite("Receipt timings on the wire")
struct TimingWireTests {
    @Test("A task receipt's and a job receipt's timings survive the conversion both ways")
    func roundTrip() throws {
        var task = TaskReceipt(jobID: JobID("j"), taskIndex: 2, attempt: 1, status: .succeeded, node: NodeID("n"), elapsed: 3.5, delayed: true)
        task.timing = .init(queueSeconds: 0.25, delaySeconds: 3, processingSeconds: 0.2)
        #expect(try TaskReceipt(Dip_V1_TaskReceipt(task)) == task)
        // Unset stays unset.
        let plain = TaskReceipt(jobID: JobID("j"), taskIndex: 0, attempt: 1, status: .rejected, node: NodeID("n"))
        #expect(try TaskReceipt(Dip_V1_TaskReceipt(plain)) == plain)

        var entry = JobReceipt.Task(input: "in/a.png", output: "out/a.png", status: .succeeded, node: NodeID("n"), attempts: 1, elapsed: 3.5)
        entry.queueSeconds = 0.25
        entry.delaySeconds = 3
        entry.processingSeconds = 0.2
        var receipt = JobReceipt(
            jobID: JobID("j"), status: .succeeded, input: "in", output: "out", pipeline: "identity", tasks: [entry], elapsed: 4,
            message: "ok")
        receipt.makespan = 3.6
        receipt.taskLatency = .init(p50: 3.5, p95: 3.5, p99: 3.5)
        #expect(try JobReceipt(Dip_V1_JobReceipt(receipt)) == receipt)
    }

    @Test("A negative or non-finite timing from the wire is refused, naming the field")
    func refused() {
        var wire = Dip_V1_TaskReceipt(TaskReceipt(jobID: JobID("j"), taskIndex: 0, attempt: 1, status: .succeeded, node: NodeID("n")))
        wire.queueSeconds = -1
        #expect { try TaskReceipt(wire) } throws: { "\($0)".contains("queue_seconds") }
        var job = Dip_V1_JobReceipt(
            JobReceipt(jobID: JobID("j"), status: .succeeded, input: "in", output: "out", pipeline: "identity", tasks: [], elapsed: 0, message: ""))
        job.makespanSeconds = .nan
        #expect { try JobReceipt(job) } throws: { "\($0)".contains("makespan_seconds") }
    }
}
