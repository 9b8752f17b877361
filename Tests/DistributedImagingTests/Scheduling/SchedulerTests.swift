import Testing

@testable import DistributedImaging

@Suite("Schedulers")
struct SchedulerTests {
    static let task = TaskRequest(jobID: JobID("job"), taskIndex: 0, inputPath: "in/a.png", outputPath: "out/a.png", pipeline: "identity")
    static let draws = 20_000
    /// Binomial standard error at p = 0.5 over 20k draws is 0.0035; 0.02 is over 5 σ.
    static let tolerance = 0.02

    @Test("Mandatory never rejects, whatever the load", arguments: [0.0, 0.5, 1.0])
    func mandatoryNeverRejects(load: Double) {
        var generator = SeededRandomNumberGenerator(seed: 1)
        let scheduler = MandatoryScheduler(delay: .milliseconds(1))
        for _ in 0..<Self.draws {
            #expect(scheduler.decide(on: Self.task, load: load, using: &generator).isAccepted)
        }
    }

    @Test("Optional rejects with probability = load", arguments: [0.0, 0.2, 0.5, 0.8, 1.0])
    func optionalRejectionRateMatchesLoad(load: Double) {
        var generator = SeededRandomNumberGenerator(seed: 2)
        let scheduler = OptionalScheduler(delay: .milliseconds(1))
        let rejected = (0..<Self.draws).filter { _ in
            !scheduler.decide(on: Self.task, load: load, using: &generator).isAccepted
        }.count
        #expect(abs(Double(rejected) / Double(Self.draws) - load) <= Self.tolerance)
    }

    @Test("An accepted task is delayed with probability = load", arguments: [SchedulingPolicy.mandatory, .optional], [0.2, 0.5, 0.8])
    func delayedFractionMatchesLoad(policy: SchedulingPolicy, load: Double) {
        var generator = SeededRandomNumberGenerator(seed: 3)
        let scheduler = policy.makeScheduler(delay: .milliseconds(7))
        var accepted = 0
        var delayed = 0
        for _ in 0..<Self.draws {
            guard let delay = scheduler.decide(on: Self.task, load: load, using: &generator).delay else { continue }
            accepted += 1
            if delay > .zero {
                delayed += 1
                #expect(delay == .milliseconds(7))
            }
        }
        #expect(abs(Double(delayed) / Double(accepted) - load) <= Self.tolerance)
    }

    @Test("The default delay is the seed's 3 s")
    func defaultDelay() {
        #expect(MandatoryScheduler().delay == .seconds(3))
        #expect(OptionalScheduler().delay == .seconds(3))
        #expect(NodeConfiguration(name: "n").delay == 3)
    }

    @Test("Random placement is uniform over the nodes")
    func randomPlacementIsUniform() {
        var generator = SeededRandomNumberGenerator(seed: 4)
        let nodes = (1...4).map { NodeID("n\($0)") }
        var counts = [Int](repeating: 0, count: 4)
        for _ in 0..<Self.draws {
            counts[RandomPlacement().choose(for: Self.task, among: nodes, tried: [], using: &generator)] += 1
        }
        for count in counts {
            #expect(abs(Double(count) / Double(Self.draws) - 0.25) <= Self.tolerance)
        }
    }

    @Test("Seeded generators reproduce and derived streams differ")
    func seededGenerators() {
        var a = SeededRandomNumberGenerator(seed: 42)
        var b = SeededRandomNumberGenerator(seed: 42)
        let first = (0..<8).map { _ in a.next() }
        #expect(first == (0..<8).map { _ in b.next() })
        var c = SeededRandomNumberGenerator(seed: 42, deriving: "node", "node-1")
        var d = SeededRandomNumberGenerator(seed: 42, deriving: "node", "node-2")
        #expect(c.next() != d.next())
        #expect(SeededRandomNumberGenerator.derive(seed: 1, 2, 3) == SeededRandomNumberGenerator.derive(seed: 1, 2, 3))
        #expect(SeededRandomNumberGenerator.derive(seed: 1, 2, 3) != SeededRandomNumberGenerator.derive(seed: 1, 3, 2))
    }
}
