import Foundation
import NIOPosix
import Synchronization
import Testing

@testable import DistributedImaging

/// The machine's compute gate: a counting semaphore the nodes of several processes share, so
/// that together they run no more images at once than it has permits.
@Suite("Machine compute gate", .timeLimit(.minutes(1)))
struct MachineComputeGateTests {
    /// A gate of its own for one test (a random key, not the machine's), removed afterwards.
    func withGate<Result>(permits: Int, _ body: (MachineComputeGate) async throws -> Result) async throws -> Result {
        let gate = try MachineComputeGate(key: Int32.random(in: 0x1000_0000...0x3FFF_FFFF), permits: permits)
        defer { gate.remove() }
        return try await body(gate)
    }

    /// Polls `condition` every millisecond for at most 10 s.
    func eventually(_ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
        return condition()
    }

    @Test("A permit held makes the next taker wait until it is given back")
    func waitsForAPermit() async throws {
        try await withGate(permits: 1) { gate in
            #expect(gate.free == 1)
            let (taken, letGo) = self.holdPermit(of: gate)
            taken.wait()
            #expect(gate.free == 0)
            let second = Atomic<Bool>(false)
            Thread { gate.withPermit { second.store(true, ordering: .sequentiallyConsistent) } }.start()
            // The second taker is blocked on the gate, not merely slow to start.
            try #require(try await self.eventually { gate.waiting == 1 }, "the second taker never waited")
            let early = second.load(ordering: .sequentiallyConsistent)
            #expect(!early)
            letGo.signal()
            #expect(try await self.eventually { second.load(ordering: .sequentiallyConsistent) })
            #expect(try await self.eventually { gate.free == 1 })
        }
    }

    /// A thread that takes a permit of `gate` (signalling `taken`) and holds it until `letGo`.
    func holdPermit(of gate: MachineComputeGate) -> (taken: DispatchSemaphore, letGo: DispatchSemaphore) {
        let (taken, letGo) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        Thread {
            gate.withPermit {
                taken.signal()
                letGo.wait()
            }
        }.start()
        return (taken, letGo)
    }

    @Test("A small input does not wait for the gate")
    func smallInputSkipsTheGate() async throws {
        try await withGate(permits: 1) { gate in
            try await withTemporaryDirectory { root in
                try TestImages.writePNGs(count: 1, into: "\(root)/in")
                let node = try ImagingNode(
                    configuration: .init(name: "n", policy: .mandatory, load: 0, delay: 0),
                    storage: try SharedStorage(root: root), computeGate: gate, logger: silentLogger)
                let (taken, letGo) = self.holdPermit(of: gate)
                taken.wait()
                defer { letGo.signal() }
                let receipt = await node.execute(
                    TaskRequest(jobID: JobID("j"), taskIndex: 0, inputPath: "in/img-0000.png", outputPath: "out/0.png", pipeline: "invert"))
                #expect(receipt.status == .succeeded)
            }
        }
    }

    @Test("Opening an existing gate keeps its permits")
    func reopenKeepsPermits() async throws {
        try await withGate(permits: 3) { gate in
            let again = try MachineComputeGate(key: gate.key, permits: 7)
            #expect(again.free == 3)
        }
    }

    @Test("A node with a gate waits for a permit before it decodes, and runs once one is free")
    func nodeWaitsForThePermit() async throws {
        try await withGate(permits: 1) { gate in
            try await withTemporaryDirectory { root in
                // Noise does not compress: a PNG above the gate's minimum input size.
                var generator = SeededRandomNumberGenerator(seed: 7)
                let noise = try Image(
                    width: 160, height: 160, channels: 3, pixels: (0..<(160 * 160 * 3)).map { _ in UInt8.random(in: 0...255, using: &generator) })
                try FileManager.default.createDirectory(atPath: "\(root)/in", withIntermediateDirectories: true)
                try TestImages.write(noise, as: .png, to: "\(root)/in/img-0000.png")
                try #require(try FileManager.default.attributesOfItem(atPath: "\(root)/in/img-0000.png")[.size] as? Int ?? 0
                    >= MachineComputeGate.minimumInputBytes)
                let node = try ImagingNode(
                    configuration: .init(name: "n", policy: .mandatory, load: 0, delay: 0),
                    storage: try SharedStorage(root: root), computeGate: gate, logger: silentLogger)
                let task = TaskRequest(
                    jobID: JobID("j"), taskIndex: 0, inputPath: "in/img-0000.png", outputPath: "out/0.png", pipeline: "invert")
                // Another process's node holds the machine's only permit (here: another thread).
                let (taken, letGo) = self.holdPermit(of: gate)
                taken.wait()
                async let receipt = node.execute(task)
                try #require(try await self.eventually { gate.waiting == 1 }, "the node never waited for the gate")
                #expect(!FileManager.default.fileExists(atPath: "\(root)/out/0.png"))
                letGo.signal()
                #expect(await receipt.status == .succeeded)
                #expect(FileManager.default.fileExists(atPath: "\(root)/out/0.png"))
            }
        }
    }
}
