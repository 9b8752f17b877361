import Foundation
import Synchronization
import Testing

@testable import DistributedImaging

/// `load: "auto"` (the node's measured occupancy), the run-time setter, and parsing.
@Suite("Node load: auto and set at run time")
struct NodeLoadTests {
    /// Accepts every task with a 1 s delay (held by the ``GateClock``), or rejects every task,
    /// and records the load the node decided each task with.
    final class RecordingScheduler: Scheduler {
        let accepts: Bool
        private let recorded = Mutex<[Double]>([])
        init(accepts: Bool) { self.accepts = accepts }
        var loads: [Double] { self.recorded.withLock { $0 } }

        func decide(on task: TaskRequest, load: Double, using generator: inout some RandomNumberGenerator) -> SchedulingDecision {
            self.recorded.withLock { $0.append(load) }
            return self.accepts ? .accept(delay: .seconds(1)) : .reject(reason: "recording")
        }
    }

    private func task(_ index: Int) -> TaskRequest {
        TaskRequest(
            jobID: JobID("j"), taskIndex: index, inputPath: "in/missing-\(index).png", outputPath: "out/\(index).png",
            pipeline: "identity")
    }

    /// The reference smoothing: `e ← e + (x − e) / 8` over the occupancy samples.
    private func smoothed(_ samples: [Double], from start: Double = 0) -> Double {
        samples.reduce(start) { $0 + ($1 - $0) / 8 }
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
        try #require(condition(), "the node did not reach the expected state within 20 s")
    }

    @Test("auto: the node decides with its smoothed occupancy and advertises it, with the mode")
    func autoFollowsOccupancy() async throws {
        try await withTemporaryDirectory { root in
            let clock = GateClock()
            let scheduler = RecordingScheduler(accepts: true)
            var configuration = NodeConfiguration(name: "n", policy: .optional, maxConcurrentTasks: 2)
            configuration.nodeLoad = .auto
            let node = try ImagingNode(
                configuration: configuration, storage: try SharedStorage(root: root), scheduler: scheduler, clock: clock,
                logger: silentLogger)
            #expect(node.load == .auto)
            async let first = node.execute(self.task(0))
            try await self.waitUntil { clock.sleepers == 1 }
            async let second = node.execute(self.task(1))
            try await self.waitUntil { clock.sleepers == 2 }
            async let third = node.execute(self.task(2))
            try await self.waitUntil { node.advertisedState?.queueLength == 1 }

            // Samples: offer 0 (0 busy), start 0 (1 of 2), offer 1 (1), start 1 (2), offer 2 (2).
            let expected = [
                self.smoothed([0]), self.smoothed([0, 0.5, 0.5]), self.smoothed([0, 0.5, 0.5, 1, 1]),
            ]
            #expect(scheduler.loads.count == 3)
            for (got, want) in zip(scheduler.loads, expected) { #expect(abs(got - want) < 1e-12, "\(got) vs \(want)") }
            let state = try #require(node.advertisedState)
            #expect(state.loadMode == .auto)
            #expect(state.busySlots == 2 && state.queueLength == 1)
            #expect(abs(state.load - expected[2]) < 1e-12)
            #expect(abs(node.currentLoad - expected[2]) < 1e-12)
            #expect(!state.rejectsEverything)

            clock.open()
            let receipts = await [first, second, third]
            #expect(receipts.allSatisfy { $0.status == .failed }, "the inputs do not exist")
            #expect(node.activeTasks == 0)
            let settled = node.currentLoad
            #expect(settled > 0 && settled < 1)

        }
    }

    @Test("an idle auto node's estimate decays with each offer, so it never stays stuck high")
    func idleDecays() async throws {
        try await withTemporaryDirectory { root in
            let clock = GateClock()
            let holding = RecordingScheduler(accepts: true)
            var configuration = NodeConfiguration(name: "n", policy: .optional, maxConcurrentTasks: 1)
            configuration.nodeLoad = .auto
            let node = try ImagingNode(
                configuration: configuration, storage: try SharedStorage(root: root), scheduler: holding, clock: clock,
                logger: silentLogger)
            // Two tasks on one slot: one runs, one queues; the estimate climbs.
            async let a = node.execute(self.task(0))
            try await self.waitUntil { clock.sleepers == 1 }
            async let b = node.execute(self.task(1))
            try await self.waitUntil { node.advertisedState?.queueLength == 1 }
            let peak = node.currentLoad
            #expect(peak > 0.2)
            clock.open()
            _ = await [a, b]
            let settled = node.currentLoad
            try node.setLoad(.fixed(0.25))
            #expect(node.currentLoad == 0.25)
            #expect(node.advertisedState?.loadMode == .fixed)
            try node.setLoad(.auto)
            #expect(abs(node.currentLoad - settled) < 1e-12, "switching modes keeps the estimate")
            _ = await node.execute(self.task(2))
            let last = holding.loads.last ?? -1
            #expect(abs(last - settled * 7 / 8) < 1e-12, "\(last) vs \(settled * 7 / 8)")
        }
    }

    @Test("setLoad changes the load the next decision uses; a bad value is refused and changes nothing")
    func setter() async throws {
        try await withTemporaryDirectory { root in
            let scheduler = RecordingScheduler(accepts: false)
            let node = try ImagingNode(
                configuration: .init(name: "n", policy: .optional, load: 0.5), storage: try SharedStorage(root: root),
                scheduler: scheduler, logger: silentLogger)
            _ = await node.execute(self.task(0))
            try node.setLoad(.fixed(0.9))
            _ = await node.execute(self.task(1))
            #expect(scheduler.loads == [0.5, 0.9])
            #expect(node.advertisedState?.load == 0.9)
            for bad in [1.5, -0.1, Double.nan] {
                let error = #expect(throws: DistributedImagingError.self) { try node.setLoad(.fixed(bad)) }
                #expect(error?.code == .invalidConfiguration)
                #expect(error?.message.contains("load") == true)
            }
            #expect(node.load == .fixed(0.9))
        }
    }

    @Test("a full auto node rejects nearly every task, yet never counts as hopeless")
    func optionalUsesMeasuredLoad() async throws {
        // A node always full (every sample 1, clamped from 3 busy of 2) approaches 1 and rejects
        // nearly every task; the server still does not give up on it (only a fixed load of 1 is
        // hopeless).
        var measured = MeasuredLoad()
        for _ in 0..<400 { measured.sample(busy: 3, slots: 2) }
        #expect(measured.estimate > 0.999_999 && measured.estimate <= 1)
        var generator = SeededRandomNumberGenerator(seed: 7)
        let task = self.task(0)
        if case .accept = OptionalScheduler().decide(on: task, load: measured.estimate, using: &generator) {
            Issue.record("an Optional node at load 1 accepted")
        }
        #expect(NodeState(policy: .optional, load: 1, loadMode: .auto).rejectsEverything == false)
        #expect(NodeState(policy: .optional, load: 1, loadMode: .fixed).rejectsEverything)
        #expect(NodeState(policy: .optional, load: 1).rejectsEverything)
        #expect(NodeState(policy: .optional, load: 1, loadMode: .auto).pressure.isFinite)
    }

    @Test("load parses as a number in 0…1 or auto; anything else names the key and the value")
    func parsing() throws {
        #expect(try NodeLoad(parsing: "auto", key: "--load") == .auto)
        #expect(try NodeLoad(parsing: "AUTO", key: "--load") == .auto)
        #expect(try NodeLoad(parsing: "0.25", key: "--load") == .fixed(0.25))
        let word = #expect(throws: DistributedImagingError.self) { try NodeLoad(parsing: "busy", key: "node.load") }
        #expect(word?.code == .invalidConfiguration)
        #expect(word?.message.contains("node.load") == true && word?.message.contains("'busy'") == true)
        let range = #expect(throws: DistributedImagingError.self) { try NodeLoad(parsing: "2", key: "--load") }
        #expect(range?.message.contains("--load") == true && range?.message.contains("2.0") == true)

        let decoded = try JSONDecoder().decode(NodeConfiguration.self, from: Data(#"{"name": "a", "load": "auto"}"#.utf8))
        #expect(decoded.nodeLoad == .auto)
        let roundTrip = try JSONDecoder().decode(NodeConfiguration.self, from: JSONEncoder().encode(decoded))
        #expect(roundTrip.nodeLoad == .auto)
        let number = try JSONDecoder().decode(NodeConfiguration.self, from: Data(#"{"name": "a", "load": 0.5}"#.utf8))
        #expect(number.nodeLoad == .fixed(0.5))
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(NodeConfiguration.self, from: Data(#"{"name": "a", "load": "high"}"#.utf8))
        }
    }
}
