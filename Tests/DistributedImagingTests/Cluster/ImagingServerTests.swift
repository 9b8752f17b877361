import Foundation
import Synchronization
import Testing

@testable import DistributedImaging

/// The server against scripted nodes: listing, naming, re-placement and attempts.
@Suite("ImagingServer")
struct ImagingServerTests {
    /// A storage root with `in/` holding `count` image-named files (contents irrelevant here).
    func withJobDirectory<T>(count: Int, extra: [String] = [], _ body: (SharedStorage) async throws -> T) async throws -> T {
        try await withTemporaryDirectory { root in
            try FileManager.default.createDirectory(atPath: "\(root)/in", withIntermediateDirectories: true)
            for index in 0..<count { try TestImages.write(text: "x", to: "\(root)/in/\(index).png") }
            for name in extra { try TestImages.write(text: "x", to: "\(root)/in/\(name)") }
            return try await body(try SharedStorage(root: root))
        }
    }

    func server(_ storage: SharedStorage, _ nodes: [any NodeConnection], maxAttempts: Int = 40, seed: UInt64 = 7) throws -> ImagingServer {
        try ImagingServer(
            configuration: .init(maxAttempts: maxAttempts, maxConcurrentTasks: 8, seed: seed), storage: storage, nodes: nodes,
            logger: silentLogger)
    }

    @Test("Rejected tasks are placed again until a node takes them")
    func rejectedTasksArePlacedAgain() async throws {
        try await withJobDirectory(count: 20) { storage in
            // Every task is rejected on its first two attempts, wherever they land.
            let picky = ScriptedConnection("picky") { task, _ in task.attempt <= 2 ? .rejected : .succeeded }
            let log = EventLog()
            let receipt = try await self.server(storage, [picky, ScriptedConnection("picky-2", answer: picky.answer)] as [any NodeConnection])
                .submit(JobRequest(inputDirectory: "in", pipeline: "identity")) { log.record($0) }
            #expect(receipt.status == .succeeded)
            #expect(receipt.tasks.allSatisfy { $0.attempts == 3 && $0.rejections == 2 && $0.status == .succeeded })
            #expect(receipt.counts.rejections == 40)
            let placed = log.events.filter { if case .placed = $0 { return true } else { return false } }.count
            let rejected = log.events.filter { if case .rejected = $0 { return true } else { return false } }.count
            #expect(placed == 60)
            #expect(rejected == 40)
            guard case .started(_, 20, 0) = log.events.first, case .finished(let last) = log.events.last else {
                Issue.record("events must start with started and end with finished: \(log.events)")
                return
            }
            #expect(last == receipt)
        }
    }

    @Test("A rejected task may land on any node, the rejecting one included")
    func replacementIsUniformOverAllNodes() async throws {
        try await withJobDirectory(count: 200) { storage in
            let a = ScriptedConnection("a") { task, _ in task.attempt == 1 ? .rejected : .succeeded }
            let b = ScriptedConnection("b", answer: a.answer)
            let receipt = try await self.server(storage, [a, b]).submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
            // Second attempts land on either node about half the time, whichever node rejected.
            let onA = receipt.tasks.filter { $0.node == NodeID("a") }.count
            #expect((70...130).contains(onA))
        }
    }

    @Test("Exhausting maxAttempts fails the task with the reason; the job fails")
    func maxAttemptsExhausted() async throws {
        try await withJobDirectory(count: 3) { storage in
            let receipt = try await self.server(storage, [ScriptedConnection.rejecting("n1"), .rejecting("n2")], maxAttempts: 5)
                .submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
            #expect(receipt.status == .failed)
            for task in receipt.tasks {
                #expect(task.status == .failed)
                #expect(task.attempts == 5)
                #expect(task.rejections == 5)
                #expect(task.error?.contains("no node took the task in 5 attempts") == true)
                #expect(task.error?.contains("scripted rejected") == true)
            }
        }
    }

    @Test("A cluster where every node always rejects ends with a failed receipt", .timeLimit(.minutes(1)))
    func allRejectingClusterTerminates() async throws {
        try await withJobDirectory(count: 50) { storage in
            let nodes = (1...4).map { ScriptedConnection.rejecting("n\($0)") }
            let receipt = try await self.server(storage, nodes).submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
            #expect(receipt.status == .failed)
            #expect(receipt.counts.failed == 50)
            #expect(receipt.tasks.allSatisfy { $0.attempts == 40 })
            #expect(nodes.map { $0.calls.load(ordering: .relaxed) }.reduce(0, +) == 50 * 40)
        }
    }

    @Test("An unreachable node counts as an attempt and the task is placed again, with the reason")
    func unreachableNodeCountsAsAttempt() async throws {
        try await withJobDirectory(count: 30) { storage in
            let log = EventLog()
            let faults = try FaultInjectingTransport(seed: 1)
            faults.cutOff(NodeID("down"))
            let down = ScriptedConnection.accepting("down")
            let receipt = try await self.server(storage, [faults.wrap(down), ScriptedConnection.accepting("up")])
                .submit(JobRequest(inputDirectory: "in", pipeline: "identity")) { log.record($0) }
            #expect(receipt.status == .succeeded)
            #expect(receipt.tasks.allSatisfy { $0.node == NodeID("up") && $0.rejections == 0 })
            #expect(receipt.tasks.contains { $0.attempts > 1 })
            let reasons = log.events.compactMap { event -> String? in
                if case .rejected(_, _, _, _, let reason) = event { return reason } else { return nil }
            }
            #expect(!reasons.isEmpty)
            #expect(reasons.allSatisfy { $0.hasPrefix("unreachable: ") && $0.contains("cut off") })
            #expect(faults.statistics(for: NodeID("down")).refused == reasons.count, "each lost attempt was a call refused")
            #expect(down.calls.load(ordering: .relaxed) == 0, "no task reached the node cut off")
            // The receipt itself records why each lost attempt was placed again.
            for task in receipt.tasks {
                #expect(task.lostAttempts.count == task.attempts - 1)
                #expect(task.lostAttempts.allSatisfy { $0.contains("on node 'down': unreachable: ") })
            }

            let allDown = try await self.server(storage, [faults.wrap(down)], maxAttempts: 3)
                .submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
            #expect(allDown.status == .failed)
            #expect(allDown.tasks.first?.error?.contains("3 lost") == true)
            #expect(allDown.tasks.first?.lostAttempts.count == 3)
        }
    }

    @Test("A node's failed answer is final and fails only its task")
    func failedAnswerIsFinal() async throws {
        try await withJobDirectory(count: 4) { storage in
            let node = ScriptedConnection("n") { task, _ in task.inputPath == "in/2.png" ? .failed : .succeeded }
            let receipt = try await self.server(storage, [node]).submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
            #expect(receipt.status == .failed)
            #expect(receipt.counts.failed == 1)
            #expect(receipt.counts.succeeded == 3)
            #expect(receipt.tasks.first { $0.input == "in/2.png" }?.attempts == 1)
        }
    }

    @Test("An empty directory succeeds with 0 tasks and says so; other files are skipped")
    func emptyDirectory() async throws {
        try await withJobDirectory(count: 0, extra: ["notes.txt"]) { storage in
            let receipt = try await self.server(storage, [ScriptedConnection.accepting("n")])
                .submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
            #expect(receipt.status == .succeeded)
            #expect(receipt.counts.total == 1)
            #expect(receipt.counts.skipped == 1)
            #expect(receipt.tasks.first?.input == "in/notes.txt")
            #expect(receipt.message.contains("0 tasks"))
        }
    }

    @Test("A missing directory fails with a clear message")
    func missingDirectory() async throws {
        try await withJobDirectory(count: 0) { storage in
            let receipt = try await self.server(storage, [ScriptedConnection.accepting("n")])
                .submit(JobRequest(inputDirectory: "nowhere", pipeline: "identity"))
            #expect(receipt.status == .failed)
            #expect(receipt.message == "input directory 'nowhere' does not exist")
            #expect(receipt.tasks.isEmpty)
        }
    }

    @Test("Images by extension in any case; others skipped; default output is the sibling '<input>-out'")
    func listingAndNaming() async throws {
        try await withJobDirectory(count: 0, extra: ["a.JPG", "a.png", "b.jpeg", "c.Png", "d.gif", "e"]) { storage in
            let receipt = try await self.server(storage, [ScriptedConnection.accepting("n")])
                .submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
            #expect(receipt.output == "in-out")
            let outputs = Dictionary(uniqueKeysWithValues: receipt.tasks.map { ($0.input, $0.output) })
            #expect(outputs["in/a.JPG"] == "in-out/a.JPG.png")
            #expect(outputs["in/a.png"] == "in-out/a.png.png")
            #expect(outputs["in/b.jpeg"] == "in-out/b.png")
            #expect(outputs["in/c.Png"] == "in-out/c.png")
            #expect(outputs["in/d.gif"] == .some(nil))
            #expect(receipt.counts.skipped == 2)
            #expect(receipt.counts.succeeded == 4)
        }
    }

    @Test("Output equal to or inside the input is refused; paths outside the root are refused")
    func refusedRequests() async throws {
        try await withJobDirectory(count: 1) { storage in
            let server = try self.server(storage, [ScriptedConnection.accepting("n")])
            for output in ["in", "in/out", "\(storage.resolvedRoot)/in/x"] {
                let error = await #expect(throws: DistributedImagingError.self) {
                    try await server.submit(JobRequest(inputDirectory: "in", outputDirectory: output, pipeline: "identity"))
                }
                #expect(error?.code == .invalidArgument)
            }
            let outside = await #expect(throws: DistributedImagingError.self) {
                try await server.submit(JobRequest(inputDirectory: "../elsewhere", pipeline: "identity"))
            }
            #expect(outside?.code == .pathOutsideStorageRoot)
            let pipeline = await #expect(throws: DistributedImagingError.self) {
                try await server.submit(JobRequest(inputDirectory: "in", pipeline: "nonsense"))
            }
            #expect(pipeline?.code == .invalidPipeline)
        }
    }

    @Test("Nodes come from the directory on every placement: none is refused as unavailable, one that joins later is used")
    func nodesComeFromTheDirectory() async throws {
        try await withJobDirectory(count: 5) { storage in
            let directory = ChangingDirectory()
            let server = try ImagingServer(
                configuration: .init(maxAttempts: 3, maxConcurrentTasks: 2, seed: 1), storage: storage, nodes: directory,
                logger: silentLogger)
            let error = await #expect(throws: DistributedImagingError.self) {
                try await server.submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
            }
            #expect(error?.code == .unavailable)

            let live = ScriptedConnection.accepting("live")
            directory.nodes.withLock { $0 = [live] }
            let receipt = try await server.submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
            #expect(receipt.status == .succeeded)
            #expect(receipt.tasks.allSatisfy { $0.node == NodeID("live") })
            #expect(live.calls.load(ordering: .relaxed) == 5)
        }
    }

    /// A directory whose nodes the test sets.
    final class ChangingDirectory: NodeDirectory {
        let nodes = Mutex<[any NodeConnection]>([])
        func connections() -> [any NodeConnection] { self.nodes.withLock { $0 } }
    }

    /// Returns a fixed index, whatever it is given.
    struct FixedPlacement: Placement {
        let index: Int
        func choose(
            for task: TaskRequest, among nodes: [NodeID], tried: [NodeID], using generator: inout some RandomNumberGenerator
        ) -> Int { self.index }
    }

    @Test("A placement returning an index out of range fails the task, naming the index; no node is called", arguments: [-1, 2, 99])
    func outOfRangePlacementFailsTheTask(index: Int) async throws {
        try await withJobDirectory(count: 3) { storage in
            let nodes = [ScriptedConnection.accepting("a"), .accepting("b")]
            let server = try ImagingServer(
                configuration: .init(maxAttempts: 5, maxConcurrentTasks: 2, seed: 1), storage: storage, nodes: nodes,
                placement: FixedPlacement(index: index), logger: silentLogger)
            let receipt = try await server.submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
            #expect(receipt.status == .failed)
            #expect(receipt.counts.failed == 3)
            for task in receipt.tasks {
                #expect(task.status == .failed)
                #expect(task.attempts == 0)
                #expect(task.error?.contains("placement FixedPlacement chose index \(index) among 2 nodes") == true, "\(task.error ?? "")")
            }
            #expect(nodes.map { $0.calls.load(ordering: .relaxed) } == [0, 0])

            // In range, the same placement is obeyed.
            let good = try ImagingServer(
                configuration: .init(maxAttempts: 5, maxConcurrentTasks: 2, seed: 1), storage: storage, nodes: nodes,
                placement: FixedPlacement(index: 1), logger: silentLogger)
            let fine = try await good.submit(JobRequest(inputDirectory: "in", outputDirectory: "out2", pipeline: "identity"))
            #expect(fine.status == .succeeded)
            #expect(fine.tasks.allSatisfy { $0.node == NodeID("b") })
        }
    }

    @Test("Output names: stems, collisions keep full names, no duplicates ever")
    func outputNaming() {
        #expect(OutputNaming.names(for: ["a.jpg", "b.png"], fileExtension: "png") == ["a.png", "b.png"])
        #expect(OutputNaming.names(for: ["a.jpg", "a.png"], fileExtension: "png") == ["a.jpg.png", "a.png.png"])
        #expect(OutputNaming.names(for: ["x/a.jpg", "y/a.png"], fileExtension: "jpg") == ["x/a.jpg", "y/a.jpg"])
        let tricky = OutputNaming.names(for: ["a.jpg", "a.jpg.png", "a.png"], fileExtension: "png")
        #expect(Set(tricky).count == 3)
        #expect(OutputNaming.isImage("A.JPEG") && OutputNaming.isImage("b.PnG") && !OutputNaming.isImage("c.gif"))
    }
}
