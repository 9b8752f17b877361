public import CoreMetrics
import Synchronization

/// Records a server's job events as swift-metrics metrics: a ``JobObserver``.
///
/// Every metric is created once, in the initialiser, from the given factory (by default the
/// bootstrapped or task-local `MetricsSystem.factory`):
///
/// | Metric | Kind | Meaning |
/// | --- | --- | --- |
/// | `dip_server_tasks_total{status="succeeded"\|"failed"}` | counter | tasks ended |
/// | `dip_server_task_rejections_total` | counter | placements a node rejected or that could not reach it |
/// | `dip_server_task_delays_total` | counter | tasks whose node injected the load delay |
/// | `dip_server_task_replacements_total` | counter | placements after a task's first |
/// | `dip_server_task_duration_seconds` | timer (histogram) | first placement to final answer |
/// | `dip_server_tasks_in_flight` | meter (gauge) | tasks placed and not answered |
/// | `dip_server_jobs_total{status=…}` | counter | jobs ended, by ``JobStatus`` |
/// | `dip_server_nodes_alive` | gauge | nodes the server can place on (see ``recordNodesAlive(_:)``) |
public final class JobMetrics: JobObserver {
    private let succeeded: Counter
    private let failed: Counter
    private let rejections: Counter
    private let delays: Counter
    private let replacements: Counter
    private let duration: Timer
    private let inFlight: Meter
    private let jobs: [JobStatus: Counter]
    private let nodesAlive: Gauge

    /// Creates the metrics.
    ///
    /// - Parameter factory: Where the metrics live (a `PrometheusMetricsFactory`, say).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.succeeded = Counter(label: "dip_server_tasks_total", dimensions: [("status", "succeeded")], factory: factory)
        self.failed = Counter(label: "dip_server_tasks_total", dimensions: [("status", "failed")], factory: factory)
        self.rejections = Counter(label: "dip_server_task_rejections_total", factory: factory)
        self.delays = Counter(label: "dip_server_task_delays_total", factory: factory)
        self.replacements = Counter(label: "dip_server_task_replacements_total", factory: factory)
        self.duration = Timer(label: "dip_server_task_duration_seconds", factory: factory)
        self.inFlight = Meter(label: "dip_server_tasks_in_flight", factory: factory)
        self.jobs = Dictionary(
            uniqueKeysWithValues: JobStatus.allCases.map { status in
                (status, Counter(label: "dip_server_jobs_total", dimensions: [("status", status.rawValue)], factory: factory))
            })
        self.nodesAlive = Gauge(label: "dip_server_nodes_alive", factory: factory)
    }

    /// Sets `dip_server_nodes_alive`.
    public func recordNodesAlive(_ count: Int) {
        self.nodesAlive.record(count)
    }

    /// Follows one job.
    public func observe(_ request: JobRequest) -> @Sendable (JobEvent) -> Void {
        let placed = Mutex<Set<String>>([])
        return { event in
            switch event {
            case .started:
                break
            case .placed(_, let input, _, let attempt):
                if attempt > 1 { self.replacements.increment() }
                if placed.withLock({ $0.insert(input).inserted }) { self.inFlight.increment() }
            case .rejected(_, let input, _, _, _):
                self.rejections.increment()
                if placed.withLock({ $0.remove(input) }) != nil { self.inFlight.decrement() }
            case .completed(let task):
                if placed.withLock({ $0.remove(task.input) }) != nil { self.inFlight.decrement() }
                switch task.status {
                case .succeeded: self.succeeded.increment()
                case .failed: self.failed.increment()
                case .skipped, .cancelled: return
                }
                if task.delayed { self.delays.increment() }
                self.duration.recordNanoseconds(Int64(task.elapsed * 1e9))
            case .finished(let receipt):
                let left = placed.withLock { set in
                    defer { set.removeAll() }
                    return set.count
                }
                if left > 0 { self.inFlight.decrement(by: Double(left)) }
                self.jobs[receipt.status]?.increment()
            case .snapshot:
                return
            }
        }
    }
}
