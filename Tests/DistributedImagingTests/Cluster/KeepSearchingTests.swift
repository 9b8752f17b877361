import Foundation
import Synchronization
import Testing

@testable import DistributedImaging

/// The seed's "the server continues to search": no attempt cap by default, one back-off per
/// round of rejections on the injected clock, the optional job deadline, and the hopeless case.
@Suite("Keep searching")
struct KeepSearchingTests {
    /// A scripted node that advertises a state.
    struct AdvertisingConnection: NodeConnection {
        let node: NodeID
        let state: NodeState
        let answer: @Sendable (TaskRequest) -> TaskStatus
        var advertisedState: NodeState? { self.state }

        func run(_ task: TaskRequest) async throws -> TaskReceipt {
            let status = self.answer(task)
            return TaskReceipt(for: task, status: status, node: self.node, error: status == .rejected ? "scripted rejection" : nil)
        }
    }

    func withJob<T>(count: Int, _ body: (SharedStorage) async throws -> T) async throws -> T {
        try await withTemporaryDirectory { root in
            try FileManager.default.createDirectory(atPath: "\(root)/in", withIntermediateDirectories: true)
            for index in 0..<count { try TestImages.write(text: "x", to: "\(root)/in/\(index).png") }
            return try await body(try SharedStorage(root: root))
        }
    }

    func server(
        _ storage: SharedStorage, _ nodes: [any NodeConnection], clock: ImmediateClock,
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) throws -> ImagingServer {
        var configuration = ServerConfiguration(maxConcurrentTasks: 1, seed: 5)
        configure(&configuration)
        return try ImagingServer(
            configuration: configuration, storage: storage, nodes: try StaticNodeDirectory(nodes), clock: clock,
            logger: silentLogger)
    }

    @Test("By default there is no attempt cap: a task rejected 300 times is still placed until accepted")
    func noCapByDefault() async throws {
        #expect(ServerConfiguration().maxAttempts == nil)
        try await self.withJob(count: 1) { storage in
            let answer: @Sendable (TaskRequest) -> TaskStatus = { $0.attempt <= 300 ? .rejected : .succeeded }
            let nodes: [any NodeConnection] = [
                AdvertisingConnection(node: NodeID("a"), state: NodeState(policy: .optional, load: 0.5), answer: answer),
                AdvertisingConnection(node: NodeID("b"), state: NodeState(policy: .optional, load: 0.5), answer: answer),
            ]
            let clock = ImmediateClock()
            let receipt = try await self.server(storage, nodes, clock: clock).submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
            #expect(receipt.status == .succeeded, "\(receipt.message)")
            #expect(receipt.tasks.first?.attempts == 301)
            #expect(receipt.tasks.first?.rejections == 300)
            // One back-off per round in which both nodes declined: 1 ms, doubling, capped at 1 s.
            let sleeps = clock.sleeps
            #expect(!sleeps.isEmpty && sleeps.count < 300)
            #expect(sleeps.first == .milliseconds(1))
            for (previous, next) in zip(sleeps, sleeps.dropFirst()) {
                #expect(next == min(previous * 2, .seconds(1)))
            }
            #expect(sleeps.last == .seconds(1))
        }
    }

    @Test("maxAttempts still caps the search when set")
    func capStillWorks() async throws {
        try await self.withJob(count: 1) { storage in
            let nodes: [any NodeConnection] = [ScriptedConnection.rejecting("a"), ScriptedConnection.rejecting("b")]
            let receipt = try await self.server(storage, nodes, clock: ImmediateClock()) { $0.maxAttempts = 7 }
                .submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
            #expect(receipt.status == .failed)
            #expect(receipt.tasks.first?.attempts == 7)
            #expect(receipt.tasks.first?.error?.contains("no node took the task in 7 attempts") == true)
        }
    }

    @Test("Past the job's deadline a task still searching fails with the reason; the clock, not the wall, decides")
    func jobTimeout() async throws {
        try await self.withJob(count: 2) { storage in
            let nodes: [any NodeConnection] = [ScriptedConnection.rejecting("a"), ScriptedConnection.rejecting("b")]
            let clock = ImmediateClock()
            let began = ContinuousClock.now
            let receipt = try await self.server(storage, nodes, clock: clock) { $0.jobTimeout = .seconds(30) }
                .submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
            #expect(receipt.status == .failed)
            for task in receipt.tasks {
                #expect(task.error?.contains("jobTimeout") == true, "\(task.error ?? "")")
            }
            // The first task searched until the deadline; the second found it passed.
            #expect(receipt.tasks.map(\.attempts).max().map { $0 > 10 } == true)
            // 30 s of back-off passed on the injected clock, none on the wall clock.
            #expect(clock.now.offset >= .seconds(30))
            #expect(clock.sleeps.reduce(.zero, +) == .seconds(30))
            #expect(ContinuousClock.now - began < .seconds(20))
        }
    }

    @Test("When every node is Optional at load 1 the task fails at once with that reason")
    func hopeless() async throws {
        try await self.withJob(count: 3) { storage in
            let nodes: [any NodeConnection] = ["a", "b"].map {
                AdvertisingConnection(node: NodeID($0), state: NodeState(policy: .optional, load: 1), answer: { _ in .rejected })
            }
            let clock = ImmediateClock()
            let receipt = try await self.server(storage, nodes, clock: clock).submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
            #expect(receipt.status == .failed)
            #expect(receipt.tasks.count == 3)
            for task in receipt.tasks {
                #expect(task.attempts == 0)
                #expect(task.error?.contains("Optional policy at load 1") == true, "\(task.error ?? "")")
            }
            #expect(clock.sleeps.isEmpty)
        }
    }

    @Test("A node's injected delay runs on its clock: an hour's delay costs no wall time and is reported")
    func nodeDelayOnInjectedClock() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 1, into: "\(root)/in")
            let clock = ImmediateClock()
            let node = try ImagingNode(
                configuration: .init(name: "d", policy: .mandatory, load: 1, delay: 3600),
                storage: try SharedStorage(root: root), clock: clock, logger: silentLogger)
            let task = TaskRequest(jobID: JobID("j"), taskIndex: 0, inputPath: "in/img-0000.png", outputPath: "out/a.png", pipeline: "identity")
            let began = ContinuousClock.now
            let receipt = await node.execute(task)
            #expect(receipt.status == .succeeded, "\(receipt.error ?? "")")
            #expect(receipt.delayed)
            #expect(clock.sleeps == [.seconds(3600)])
            #expect(receipt.delaySeconds == 3600)
            #expect(receipt.queueSeconds.map { $0 >= 0 && $0 < 60 } == true)
            #expect(receipt.processingSeconds.map { $0 >= 0 && $0 < 60 } == true)
            #expect(ContinuousClock.now - began < .seconds(60))
        }
    }

    @Test("The job receipt reports makespan, latency percentiles and where the nodes' time went")
    func receiptTiming() async throws {
        try await withTemporaryDirectory { root in
            _ = try TestImages.writePNGs(count: 20, into: "\(root)/in", size: 2)
            let cluster = try LocalCluster(
                storageRoot: root, nodes: [.init(name: "n", policy: .mandatory, load: 0, delay: 0, maxConcurrentTasks: 1)], seed: 3)
            let receipt = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
            #expect(receipt.status == .succeeded)
            let makespan = try #require(receipt.makespan)
            let latency = try #require(receipt.taskLatency)
            #expect(makespan > 0 && makespan <= receipt.elapsed)
            #expect(latency.p50 <= latency.p95 && latency.p95 <= latency.p99 && latency.p99 <= makespan)
            #expect(receipt.tasks.allSatisfy { $0.processingSeconds != nil && $0.queueSeconds != nil && $0.delaySeconds == 0 })
            #expect(receipt.timingLine?.contains("p99") == true)
            // The new fields survive the receipt's JSON.
            let decoded = try JSONDecoder().decode(JobReceipt.self, from: try JSONEncoder().encode(receipt))
            #expect(decoded.makespan == receipt.makespan)
            #expect(decoded.tasks.map(\.processingSeconds) == receipt.tasks.map(\.processingSeconds))
            // Read back from the job store (as after a restart), the receipt keeps its makespan.
            var stored: JobReceipt?
            for try await event in try await cluster.watch(receipt.jobID) {
                if case .finished(let final) = event { stored = final }
            }
            #expect(stored?.makespan == makespan)
        }
    }

    @Test("largest-first dispatches a job's tasks in decreasing input size")
    func largestFirst() async throws {
        try await withTemporaryDirectory { root in
            try FileManager.default.createDirectory(atPath: "\(root)/in", withIntermediateDirectories: true)
            for (index, size) in [3, 40, 7, 100, 1].enumerated() {
                try TestImages.write(text: String(repeating: "x", count: size), to: "\(root)/in/\(index).png")
            }
            let order = Mutex<[String]>([])
            let node = ScriptedConnection("n") { task, _ in
                order.withLock { $0.append(task.inputPath) }
                return .succeeded
            }
            for dispatchOrder in DispatchOrder.allCases {
                order.withLock { $0 = [] }
                var configuration = ServerConfiguration(maxConcurrentTasks: 1, seed: 1)
                configuration.dispatchOrder = dispatchOrder
                let server = try ImagingServer(configuration: configuration, storage: try SharedStorage(root: root), nodes: [node], logger: silentLogger)
                _ = try await server.submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
                let expected = dispatchOrder == .largestFirst ? ["3", "1", "2", "0", "4"] : ["0", "1", "2", "3", "4"]
                #expect(order.withLock { $0 } == expected.map { "in/\($0).png" }, "\(dispatchOrder)")
            }
        }
    }
}
