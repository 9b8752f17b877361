import Synchronization
import Testing

@testable import DistributedImaging

@Suite("Observing jobs")
struct ObservingTests {
    @Test("ClusterActivity counts each node's placements and lists a job only while it runs")
    func activity() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 5, into: "\(root)/in")
            try TestImages.write(text: "not a png", to: "\(root)/in/broken.png")
            let cluster = try LocalCluster(
                storageRoot: root, nodes: [.init(name: "a", policy: .optional, load: 0.5, delay: 0.001)], seed: 2)
            let activity = ClusterActivity()
            let submitter = ObservedJobSubmitter(cluster, observers: [activity])
            let running = Mutex<Int>(0)
            let receipt = try await submitter.submit(JobRequest(inputDirectory: "in", pipeline: "invert")) { event in
                if case .completed = event { running.withLock { $0 = max($0, activity.jobs.count) } }
            }
            #expect(running.withLock { $0 } == 1)
            #expect(activity.jobs.isEmpty)
            let node = try #require(activity.nodes[NodeID("a")])
            #expect(node.inFlight == 0)
            #expect(node.done == 6)
            #expect(node.failed == 1)
            #expect(node.rejected == receipt.counts.rejections)
        }
    }

    @Test("withEvents hands the events over as an AsyncSequence, finished last")
    func eventsSequence() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 3, into: "\(root)/in")
            let cluster = try LocalCluster(storageRoot: root, nodes: [.init(name: "a", policy: .mandatory, load: 0, delay: 0)], seed: 2)
            var seen: [JobEvent] = []
            let receipt = try await cluster.withEvents(for: JobRequest(inputDirectory: "in", pipeline: "invert")) { events in
                for try await event in events { seen.append(event) }
            }
            #expect(seen.last == .finished(receipt))
            #expect(seen.filter { if case .completed = $0 { true } else { false } }.count == 3)
        }
    }

    @Test("withEvents throws a refused job's error")
    func eventsRefused() async throws {
        try await withTemporaryDirectory { root in
            let cluster = try LocalCluster(storageRoot: root, nodes: [.init(name: "a", policy: .mandatory, load: 0, delay: 0)])
            await #expect(throws: DistributedImagingError.self) {
                try await cluster.withEvents(for: JobRequest(inputDirectory: "in", pipeline: "nonsense")) { events in
                    for try await _ in events {}
                }
            }
        }
    }
}
