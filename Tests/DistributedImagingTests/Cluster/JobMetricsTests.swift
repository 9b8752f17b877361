import MetricsTestKit
import Testing

@testable import DistributedImaging

@Suite("Metrics")
struct JobMetricsTests {
    static func task(_ input: String, _ status: JobReceipt.Outcome, delayed: Bool = false) -> JobReceipt.Task {
        JobReceipt.Task(input: input, output: "o/\(input)", status: status, node: NodeID("n"), attempts: 1, delayed: delayed, elapsed: 0.25)
    }

    @Test("JobMetrics counts tasks by status, rejections, delays, re-placements, latency and tasks in flight")
    func jobMetrics() throws {
        let factory = TestMetrics()
        let metrics = JobMetrics(factory: factory)
        let onEvent = metrics.observe(JobRequest(inputDirectory: "in"))
        onEvent(.started(jobID: JobID("j"), tasks: 2, skipped: 0))
        onEvent(.placed(taskIndex: 0, input: "a", node: NodeID("n"), attempt: 1))
        onEvent(.placed(taskIndex: 1, input: "b", node: NodeID("n"), attempt: 1))
        #expect(try factory.expectMeter("dip_server_tasks_in_flight").lastValue == 2)
        onEvent(.rejected(taskIndex: 1, input: "b", node: NodeID("n"), attempt: 1, reason: "busy"))
        onEvent(.placed(taskIndex: 1, input: "b", node: NodeID("n"), attempt: 2))
        onEvent(.completed(Self.task("a", .succeeded, delayed: true)))
        onEvent(.completed(Self.task("b", .failed)))
        onEvent(.finished(JobReceipt(jobID: JobID("j"), status: .failed, input: "in", output: "o", pipeline: "edges", tasks: [], elapsed: 1, message: "")))
        #expect(try factory.expectCounter("dip_server_tasks_total", [("status", "succeeded")]).totalValue == 1)
        #expect(try factory.expectCounter("dip_server_tasks_total", [("status", "failed")]).totalValue == 1)
        #expect(try factory.expectCounter("dip_server_task_rejections_total").totalValue == 1)
        #expect(try factory.expectCounter("dip_server_task_replacements_total").totalValue == 1)
        #expect(try factory.expectCounter("dip_server_task_delays_total").totalValue == 1)
        #expect(try factory.expectCounter("dip_server_jobs_total", [("status", "failed")]).totalValue == 1)
        #expect(try factory.expectTimer("dip_server_task_duration_seconds").values == [250_000_000, 250_000_000])
        #expect(try factory.expectMeter("dip_server_tasks_in_flight").lastValue == 0)
        metrics.recordNodesAlive(3)
        #expect(try factory.expectGauge("dip_server_nodes_alive").lastValue == 3)
    }

    /// Answers by the input's name: `ok…` succeeds, `bad…` fails, anything else is rejected.
    struct ScriptedExecutor: TaskExecutor {
        var node: NodeID { NodeID("n") }
        func execute(_ task: TaskRequest) async -> TaskReceipt {
            let status: TaskStatus = task.inputPath.hasPrefix("ok") ? .succeeded : task.inputPath.hasPrefix("bad") ? .failed : .rejected
            return TaskReceipt(for: task, status: status, node: self.node, elapsed: 0.5, delayed: status == .succeeded)
        }
    }

    @Test("MeteredTaskExecutor counts a node's answers, delays and latency")
    func nodeMetrics() async throws {
        let factory = TestMetrics()
        let metered = MeteredTaskExecutor(ScriptedExecutor(), factory: factory)
        for (index, name) in ["ok1", "ok2", "bad", "busy"].enumerated() {
            _ = await metered.execute(
                TaskRequest(jobID: JobID("j"), taskIndex: index, inputPath: name, outputPath: "o/\(index)", pipeline: "invert"))
        }
        #expect(try factory.expectCounter("dip_node_tasks_total", [("status", "succeeded")]).totalValue == 2)
        #expect(try factory.expectCounter("dip_node_tasks_total", [("status", "failed")]).totalValue == 1)
        #expect(try factory.expectCounter("dip_node_tasks_total", [("status", "rejected")]).totalValue == 1)
        #expect(try factory.expectCounter("dip_node_task_delays_total").totalValue == 2)
        #expect(try factory.expectTimer("dip_node_task_duration_seconds").values.count == 3)
        #expect(try factory.expectMeter("dip_node_tasks_in_flight").lastValue == 0)
    }
}
