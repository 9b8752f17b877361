public import CoreMetrics

/// A ``TaskExecutor`` that records a node's answers as swift-metrics metrics, created once:
///
/// | Metric | Kind | Meaning |
/// | --- | --- | --- |
/// | `dip_node_tasks_total{status="succeeded"\|"failed"\|"rejected"}` | counter | answers |
/// | `dip_node_task_delays_total` | counter | accepted tasks delayed by the load |
/// | `dip_node_task_duration_seconds` | timer (histogram) | receipt of a task to its answer |
/// | `dip_node_tasks_in_flight` | meter (gauge) | tasks being decided or run |
public struct MeteredTaskExecutor: TaskExecutor {
    private let base: any TaskExecutor
    private let answers: [TaskStatus: Counter]
    private let delays: Counter
    private let duration: Timer
    private let inFlight: Meter

    /// Wraps `base`.
    ///
    /// - Parameters:
    ///   - base: The node role.
    ///   - factory: Where the metrics live.
    public init(_ base: any TaskExecutor, factory: any MetricsFactory = MetricsSystem.factory) {
        self.base = base
        self.answers = Dictionary(
            uniqueKeysWithValues: TaskStatus.allCases.map { status in
                (status, Counter(label: "dip_node_tasks_total", dimensions: [("status", status.rawValue)], factory: factory))
            })
        self.delays = Counter(label: "dip_node_task_delays_total", factory: factory)
        self.duration = Timer(label: "dip_node_task_duration_seconds", factory: factory)
        self.inFlight = Meter(label: "dip_node_tasks_in_flight", factory: factory)
    }

    /// The wrapped node's name.
    public var node: NodeID { self.base.node }

    /// Runs `task` on the wrapped node and records its answer.
    public func execute(_ task: TaskRequest) async -> TaskReceipt {
        self.inFlight.increment()
        let receipt = await self.base.execute(task)
        self.inFlight.decrement()
        self.answers[receipt.status]?.increment()
        if receipt.delayed { self.delays.increment() }
        if receipt.status != .rejected { self.duration.recordNanoseconds(Int64(receipt.elapsed * 1e9)) }
        return receipt
    }
}
