import DistributedImaging
import DistributedImagingGRPC
import Foundation
import Prometheus
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("Metrics endpoint")
struct MetricsEndpointTests {
    /// Runs a `MetricsEndpoint` on 127.0.0.1 with an ephemeral port for the duration of `body`.
    static func withMetricsEndpoint<Result: Sendable>(
        registry: PrometheusCollectorRegistry, beforeScrape: @escaping @Sendable () -> Void = {},
        _ body: (PeerAddress) async throws -> Result
    ) async throws -> Result {
        let endpoint = MetricsEndpoint(listen: PeerAddress(host: "127.0.0.1", port: 0), registry: registry, beforeScrape: beforeScrape)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await endpoint.run() }
            defer { group.cancelAll() }
            var address = endpoint.listeningAddress
            for _ in 0..<500 where address == nil {
                try await Task.sleep(for: .milliseconds(10))
                address = endpoint.listeningAddress
            }
            let bound = try #require(address)
            return try await body(bound)
        }
    }

    static func get(_ address: PeerAddress, path: String = "/metrics") async throws -> (Int, String) {
        let url = try #require(URL(string: "http://\(address.host):\(address.port)\(path)"))
        let (data, response) = try await URLSession.shared.data(from: url)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test("GET /metrics shows the job counters moving; other paths are 404")
    func countersMove() async throws {
        let registry = PrometheusCollectorRegistry()
        let metrics = JobMetrics(factory: PrometheusMetricsFactory(registry: registry))
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dip-metrics-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: "\(root)/in", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let image = try Image(width: 4, height: 3, channels: 1, repeating: 7)
        for index in 0..<3 {
            try Data(try ImageCodec.default.encode(image, as: .png)).write(to: URL(fileURLWithPath: "\(root)/in/\(index).png"))
        }
        let cluster = try LocalCluster(storageRoot: root, nodes: [.init(name: "a", policy: .optional, load: 0.5, delay: 0.001)], seed: 5)
        let submitter = ObservedJobSubmitter(cluster, observers: [metrics])

        try await Self.withMetricsEndpoint(registry: registry, beforeScrape: { metrics.recordNodesAlive(1) }) { address in
            let (status, before) = try await Self.get(address)
            #expect(status == 200)
            #expect(before.contains("dip_server_tasks_total{status=\"succeeded\"} 0"))
            let receipt = try await submitter.submit(JobRequest(inputDirectory: "in", pipeline: "invert"))
            #expect(receipt.status == .succeeded)
            let (_, after) = try await Self.get(address)
            #expect(after.contains("dip_server_tasks_total{status=\"succeeded\"} 3"))
            #expect(after.contains("dip_server_task_rejections_total \(receipt.counts.rejections)"))
            #expect(after.contains("dip_server_nodes_alive 1"))
            #expect(after.contains("dip_server_task_duration_seconds_count 3"))
            let (missing, _) = try await Self.get(address, path: "/other")
            #expect(missing == 404)
        }
    }
}
