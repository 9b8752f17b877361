import Foundation
import Testing

@testable import DistributedImaging

/// The stores under test: every ``JobStore`` must pass ``JobStoreConformanceTests``.
enum JobStoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case inMemory
    case sqlite

    var testDescription: String { self.rawValue }

    /// Runs `body` with a new, empty store of this kind (an SQLite store in a fresh temporary
    /// directory, closed and removed afterwards).
    func withStore(_ body: (any JobStore) async throws -> Void) async throws {
        switch self {
        case .inMemory:
            try await body(InMemoryJobStore())
        case .sqlite:
            try await withTemporaryDirectory { directory in
                let store = try await SQLiteJobStore.open(stateDirectory: directory + "/state", logger: silentLogger)
                do {
                    try await body(store)
                } catch {
                    try await store.close()
                    throw error
                }
                try await store.close()
            }
        }
    }
}

/// Jobs, tasks and outcomes to store.
enum JobStoreFixtures {
    static let epoch = Date(timeIntervalSince1970: 1_700_000_000.25)

    static func record(_ id: String, tasks: Int = 3, skipped: Int = 2, submitted: Date = epoch) -> JobRecord {
        JobRecord(
            id: JobID(id),
            request: JobRequest(
                inputDirectory: "in/\(id)", outputDirectory: "out/\(id)", pipeline: "grayscale | gaussian(sigma: 2)",
                outputFormat: .jpeg(quality: 80), recursive: true, force: true, only: ["in/\(id)/a.png"]),
            input: "in/\(id)", output: "out/\(id)", pipeline: "grayscale | gaussian(sigma: 2.0)", tasks: tasks,
            skipped: skipped, submitted: submitted)
    }

    static func tasks(_ id: String, count: Int = 3) -> [PlannedTask] {
        (0..<count).map { PlannedTask(index: $0, input: "in/\(id)/img-\($0).png", output: "out/\(id)/img-\($0).jpg") }
    }

    static func skipped(_ id: String) -> [JobReceipt.Task] {
        [
            JobReceipt.Task(input: "in/\(id)/notes.txt", output: nil, status: .skipped, error: "not an image"),
            JobReceipt.Task(
                input: "in/\(id)/done.png", output: "out/\(id)/done.jpg", status: .skipped,
                error: "already complete", inputSize: 1234, inputModifiedNanoseconds: 1_700_000_000_123_456_789,
                outputSize: 99),
        ]
    }

    static func outcome(_ id: String, _ index: Int, _ status: JobReceipt.Outcome) -> JobReceipt.Task {
        JobReceipt.Task(
            input: "in/\(id)/img-\(index).png", output: "out/\(id)/img-\(index).jpg", status: status,
            node: NodeID("node-\(index % 2)"), attempts: 2, rejections: 1, delayed: index % 2 == 0, elapsed: 0.125,
            error: status == .succeeded ? nil : "boom \(index)", lostAttempts: ["node-9 disconnected"],
            inputSize: 4096, inputModifiedNanoseconds: 1_700_000_000_000_000_001, outputSize: 512)
    }
}

@Suite("JobStore conformance")
struct JobStoreConformanceTests {
    typealias F = JobStoreFixtures

    @Test(arguments: JobStoreKind.allCases)
    func createThenLoadRoundTrips(_ kind: JobStoreKind) async throws {
        try await kind.withStore { store in
            let record = F.record("a")
            try await store.create(record, tasks: F.tasks("a"), skipped: F.skipped("a"))
            let loaded = try #require(try await store.load(JobID("a")))
            #expect(loaded.record == record)
            #expect(loaded.tasks == F.tasks("a"))
            #expect(loaded.skipped == F.skipped("a"))
            #expect(loaded.outcomes.isEmpty)
            #expect(loaded.inFlight.isEmpty)
            #expect(try await store.load(JobID("b")) == nil)
        }
    }

    @Test(arguments: JobStoreKind.allCases)
    func placedThenCompleted(_ kind: JobStoreKind) async throws {
        try await kind.withStore { store in
            try await store.create(F.record("a", tasks: 4), tasks: F.tasks("a", count: 4), skipped: [])
            try await store.apply([
                .placed(JobID("a"), taskIndex: 0, node: NodeID("n1"), attempt: 1),
                .placed(JobID("a"), taskIndex: 1, node: NodeID("n2"), attempt: 1),
                // Placed again in the same batch: the last placement wins.
                .placed(JobID("a"), taskIndex: 2, node: NodeID("n1"), attempt: 1),
                .placed(JobID("a"), taskIndex: 2, node: NodeID("n2"), attempt: 2),
                // Placed and completed in the same batch.
                .placed(JobID("a"), taskIndex: 3, node: NodeID("n1"), attempt: 1),
                .completed(JobID("a"), taskIndex: 3, F.outcome("a", 3, .succeeded)),
            ])
            var loaded = try #require(try await store.load(JobID("a")))
            #expect(
                loaded.inFlight == [
                    0: StoredJob.Attempt(node: NodeID("n1"), attempt: 1),
                    1: StoredJob.Attempt(node: NodeID("n2"), attempt: 1),
                    2: StoredJob.Attempt(node: NodeID("n2"), attempt: 2),
                ])
            #expect(loaded.outcomes == [3: F.outcome("a", 3, .succeeded)])

            try await store.apply([
                .completed(JobID("a"), taskIndex: 0, F.outcome("a", 0, .failed)),
                .completed(JobID("a"), taskIndex: 1, F.outcome("a", 1, .cancelled)),
            ])
            loaded = try #require(try await store.load(JobID("a")))
            #expect(loaded.inFlight == [2: StoredJob.Attempt(node: NodeID("n2"), attempt: 2)])
            #expect(
                loaded.outcomes == [
                    0: F.outcome("a", 0, .failed), 1: F.outcome("a", 1, .cancelled), 3: F.outcome("a", 3, .succeeded),
                ])
            #expect(loaded.tasks == F.tasks("a", count: 4))
        }
    }

    @Test(arguments: JobStoreKind.allCases)
    func placedAfterCompletedIsIgnored(_ kind: JobStoreKind) async throws {
        try await kind.withStore { store in
            try await store.create(F.record("a"), tasks: F.tasks("a"), skipped: [])
            try await store.apply([.completed(JobID("a"), taskIndex: 0, F.outcome("a", 0, .succeeded))])
            // In a later batch, and after a completion in the same batch.
            try await store.apply([
                .placed(JobID("a"), taskIndex: 0, node: NodeID("late"), attempt: 3),
                .completed(JobID("a"), taskIndex: 1, F.outcome("a", 1, .failed)),
                .placed(JobID("a"), taskIndex: 1, node: NodeID("late"), attempt: 2),
            ])
            let loaded = try #require(try await store.load(JobID("a")))
            #expect(loaded.inFlight.isEmpty)
            #expect(loaded.outcomes == [0: F.outcome("a", 0, .succeeded), 1: F.outcome("a", 1, .failed)])
        }
    }

    @Test(arguments: JobStoreKind.allCases)
    func changesForUnknownJobsAreIgnored(_ kind: JobStoreKind) async throws {
        try await kind.withStore { store in
            try await store.create(F.record("a"), tasks: F.tasks("a"), skipped: [])
            try await store.apply([
                .placed(JobID("ghost"), taskIndex: 0, node: NodeID("n1"), attempt: 1),
                .completed(JobID("ghost"), taskIndex: 1, F.outcome("ghost", 1, .succeeded)),
                .placed(JobID("a"), taskIndex: 0, node: NodeID("n1"), attempt: 1),
            ])
            try await store.apply([.completed(JobID("ghost"), taskIndex: 0, F.outcome("ghost", 0, .failed))])
            #expect(try await store.load(JobID("ghost")) == nil)
            #expect(try await store.jobs().map(\.id) == [JobID("a")])
            let loaded = try #require(try await store.load(JobID("a")))
            #expect(loaded.inFlight == [0: StoredJob.Attempt(node: NodeID("n1"), attempt: 1)])
            #expect(loaded.outcomes.isEmpty)
        }
    }

    @Test(arguments: JobStoreKind.allCases)
    func finishRecordsTheEnd(_ kind: JobStoreKind) async throws {
        try await kind.withStore { store in
            try await store.create(F.record("a"), tasks: F.tasks("a"), skipped: F.skipped("a"))
            let ended = F.epoch.addingTimeInterval(42.5)
            try await store.finish(
                JobID("a"), state: .cancelled, message: "cancelled: 1 of 3 done", finished: ended, elapsed: 40.75, makespan: 12.5)
            // Finishing a job the store does not hold does nothing.
            try await store.finish(JobID("ghost"), state: .failed, message: "x", finished: ended, elapsed: 1, makespan: nil)
            let loaded = try #require(try await store.load(JobID("a")))
            var expected = F.record("a")
            expected.state = .cancelled
            expected.message = "cancelled: 1 of 3 done"
            expected.ended = ended
            expected.elapsed = 40.75
            expected.makespan = 12.5
            #expect(loaded.record == expected)
            #expect(try await store.jobs() == [expected])
        }
    }

    @Test(arguments: JobStoreKind.allCases)
    func jobsAreNewestFirstWithCounts(_ kind: JobStoreKind) async throws {
        try await kind.withStore { store in
            // Created out of submission order: the order is the order of creation.
            try await store.create(F.record("first", tasks: 5), tasks: F.tasks("first", count: 5), skipped: [])
            try await store.create(
                F.record("second", tasks: 5, submitted: F.epoch.addingTimeInterval(-100)), tasks: F.tasks("second", count: 5),
                skipped: F.skipped("second"))
            try await store.create(F.record("third", tasks: 0, skipped: 0), tasks: [], skipped: [])
            try await store.apply([
                .completed(JobID("second"), taskIndex: 0, F.outcome("second", 0, .succeeded)),
                .completed(JobID("second"), taskIndex: 1, F.outcome("second", 1, .succeeded)),
                .completed(JobID("second"), taskIndex: 2, F.outcome("second", 2, .failed)),
                .completed(JobID("second"), taskIndex: 3, F.outcome("second", 3, .cancelled)),
                .placed(JobID("second"), taskIndex: 4, node: NodeID("n1"), attempt: 1),
                .completed(JobID("first"), taskIndex: 4, F.outcome("first", 4, .failed)),
            ])
            // A task completed again: its last outcome counts, once.
            try await store.apply([.completed(JobID("second"), taskIndex: 2, F.outcome("second", 2, .succeeded))])
            let jobs = try await store.jobs()
            #expect(jobs.map(\.id.rawValue) == ["third", "second", "first"])
            #expect(jobs.map(\.succeeded) == [0, 3, 0])
            #expect(jobs.map(\.failed) == [0, 1, 1])
            #expect(jobs.map(\.tasks) == [0, 5, 5])
            #expect(jobs.map(\.skipped) == [0, 2, 2])
            #expect(jobs[1].submitted == F.epoch.addingTimeInterval(-100))
        }
    }

    @Test(arguments: JobStoreKind.allCases)
    func pruneDeletesOnlyJobsEndedBefore(_ kind: JobStoreKind) async throws {
        try await kind.withStore { store in
            for id in ["old", "recent", "running"] {
                try await store.create(F.record(id), tasks: F.tasks(id), skipped: F.skipped(id))
                try await store.apply([.completed(JobID(id), taskIndex: 0, F.outcome(id, 0, .succeeded))])
            }
            try await store.finish(JobID("old"), state: .succeeded, message: "ok", finished: F.epoch.addingTimeInterval(10), elapsed: 10, makespan: nil)
            try await store.finish(
                JobID("recent"), state: .failed, message: "1 failed", finished: F.epoch.addingTimeInterval(30), elapsed: 30, makespan: nil)

            #expect(try await store.prune(endedBefore: F.epoch.addingTimeInterval(10)) == 0)  // strictly before
            #expect(try await store.prune(endedBefore: F.epoch.addingTimeInterval(20)) == 1)
            #expect(try await store.load(JobID("old")) == nil)
            #expect(try await store.jobs().map(\.id.rawValue) == ["running", "recent"])
            #expect(try await store.load(JobID("recent"))?.outcomes.count == 1)
            #expect(try await store.prune(endedBefore: F.epoch.addingTimeInterval(1_000)) == 1)
            #expect(try await store.jobs().map(\.id.rawValue) == ["running"])

            // A job created again under a pruned id starts without the old tasks' outcomes.
            try await store.create(F.record("old"), tasks: F.tasks("old"), skipped: [])
            let again = try #require(try await store.load(JobID("old")))
            #expect(again.outcomes.isEmpty)
            #expect(try await store.jobs().map(\.id.rawValue) == ["old", "running"])
        }
    }
}

@Suite("SQLiteJobStore")
struct SQLiteJobStoreTests {
    typealias F = JobStoreFixtures

    /// The error `open` throws for `stateDirectory`; `nil` (the store closed again) if it opens.
    private func openError(_ stateDirectory: String) async throws -> DistributedImagingError? {
        do {
            let store = try await SQLiteJobStore.open(stateDirectory: stateDirectory, logger: silentLogger)
            try await store.close()
            return nil
        } catch let error as DistributedImagingError {
            return error
        }
    }

    @Test func reopenKeepsEverything() async throws {
        try await withTemporaryDirectory { directory in
            let state = directory + "/deep/er/state"
            let store = try await SQLiteJobStore.open(stateDirectory: state, logger: silentLogger)
            try await store.create(F.record("a"), tasks: F.tasks("a"), skipped: F.skipped("a"))
            try await store.create(F.record("b"), tasks: F.tasks("b"), skipped: [])
            try await store.apply([
                .completed(JobID("a"), taskIndex: 0, F.outcome("a", 0, .succeeded)),
                .placed(JobID("a"), taskIndex: 1, node: NodeID("n1"), attempt: 2),
            ])
            try await store.finish(JobID("b"), state: .failed, message: "no", finished: F.epoch.addingTimeInterval(5), elapsed: 4, makespan: nil)
            let before = (try await store.jobs(), try await store.load(JobID("a")), try await store.load(JobID("b")))
            try await store.close()
            try await store.close()  // again: nothing
            await #expect(throws: DistributedImagingError.self) { try await store.jobs() }

            let status = try #require(POSIX.status(of: state))
            #expect(status.st_mode & 0o777 == 0o700)

            let reopened = try await SQLiteJobStore.open(stateDirectory: state, logger: silentLogger)
            let after = (try await reopened.jobs(), try await reopened.load(JobID("a")), try await reopened.load(JobID("b")))
            try await reopened.close()
            #expect(after.0 == before.0)
            #expect(after.1 == before.1)
            #expect(after.2 == before.2)
            #expect(after.1?.outcomes[0] == F.outcome("a", 0, .succeeded))
            #expect(after.1?.inFlight == [1: StoredJob.Attempt(node: NodeID("n1"), attempt: 2)])
        }
    }

    @Test func secondOpenOfTheSameDirectoryIsRefusedUntilClosed() async throws {
        try await withTemporaryDirectory { directory in
            let state = directory + "/state"
            let first = try await SQLiteJobStore.open(stateDirectory: state, logger: silentLogger)
            let error = try await self.openError(state)
            try await first.close()
            let refused = try #require(error)
            #expect(refused.code == .unavailable)
            #expect(refused.message.contains("'\(state)'"))
            #expect(refused.message.contains("\(state)/lock"))
            #expect(!refused.message.contains("\n"))
            #expect(try await self.openError(state) == nil)
        }
    }

    @Test func garbageFileIsRefusedAndLeftUntouched() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/jobs.sqlite"
            let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) })
            try garbage.write(to: URL(fileURLWithPath: path))
            let error = try #require(try await self.openError(directory))
            #expect(error.code == .io)
            #expect(error.message.contains("'\(path)'"))
            #expect(error.message.contains("move it aside"))
            #expect(!error.message.contains("\n"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == garbage)
            #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
            // The lock was released: the directory opens once the file is moved aside.
            try FileManager.default.moveItem(atPath: path, toPath: path + ".bad")
            #expect(try await self.openError(directory) == nil)
        }
    }

    @Test func corruptDatabaseIsRefusedAndLeftUntouched() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/jobs.sqlite"
            let store = try await SQLiteJobStore.open(stateDirectory: directory, logger: silentLogger)
            try await store.create(F.record("a", tasks: 2_000), tasks: F.tasks("a", count: 2_000), skipped: [])
            try await store.close()
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            let pageSize = Int(bytes[16]) << 8 | Int(bytes[17])
            try #require(bytes.count > 4 * pageSize)
            // Scribble over the middle of the third page (the index of the jobs' ids).
            for offset in (2 * pageSize + 8)..<(3 * pageSize - 8) { bytes[offset] = 0xA5 }
            try bytes.write(to: URL(fileURLWithPath: path))
            let error = try #require(try await self.openError(directory))
            #expect(error.code == .io)
            #expect(error.message.contains("'\(path)'"))
            #expect(error.message.contains("corrupt") || error.message.contains("malformed"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes)
        }
    }

    @Test(.enabled(if: getuid() != 0, "root reads and writes any file"))
    func unreadableFileIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/jobs.sqlite"
            let store = try await SQLiteJobStore.open(stateDirectory: directory, logger: silentLogger)
            try await store.close()
            for mode in [0o000, 0o400] {
                #expect(chmod(path, mode_t(mode)) == 0)
                let error = try #require(try await self.openError(directory))
                #expect(error.code == .io)
                #expect(error.message.contains("'\(path)'"))
            }
            #expect(chmod(path, 0o600) == 0)
        }
    }

    @Test(.enabled(if: getuid() != 0, "root writes any directory"))
    func unwritableDirectoryIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let state = directory + "/state"
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false)
            #expect(chmod(state, 0o500) == 0)
            defer { _ = chmod(state, 0o700) }
            let error = try #require(try await self.openError(state))
            #expect(error.code == .io)
            #expect(error.message.contains("'\(state)'"))
        }
    }

    /// The variant that holds as root too: something that is not a file where the file goes.
    @Test func directoryInPlaceOfTheFileIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/jobs.sqlite"
            try FileManager.default.createDirectory(atPath: path + "/keep", withIntermediateDirectories: true)
            let error = try #require(try await self.openError(directory))
            #expect(error.code == .io)
            #expect(error.message.contains("'\(path)'"))
            #expect(FileManager.default.fileExists(atPath: path + "/keep"))
        }
    }

    @Test func stateDirectoryThatIsAFileIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let state = directory + "/state"
            try Data("x".utf8).write(to: URL(fileURLWithPath: state))
            let error = try #require(try await self.openError(state))
            #expect(error.code == .io)
            #expect(error.message.contains("'\(state)'"))
        }
    }

    @Test func schemaFromTheFutureIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/jobs.sqlite"
            let store = try await SQLiteJobStore.open(stateDirectory: directory, logger: silentLogger)
            try await store.create(F.record("a"), tasks: F.tasks("a"), skipped: [])
            try await store.close()
            // `PRAGMA user_version` is the big-endian 32-bit integer at offset 60 of the header.
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(Array(bytes[60..<64]) == [0, 0, 0, UInt8(SQLiteJobStore.schemaVersion)])
            bytes.replaceSubrange(60..<64, with: [0, 0, 0, 99])
            try bytes.write(to: URL(fileURLWithPath: path))
            let error = try #require(try await self.openError(directory))
            #expect(error.code == .io)
            #expect(error.message.contains("'\(path)'"))
            #expect(error.message.contains("99"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes)
        }
    }

    /// Many tasks in one job, as the server writes them: created in one call, then placed and
    /// completed in batches of 1,000. Checks the result, not the time (a release build did
    /// 100,000 tasks in about 3 s on a 2-core machine; the commit storing outcomes as columns
    /// has the figures).
    @Test func largeJobIsCreatedAndAppliedInBatches() async throws {
        try await withTemporaryDirectory { directory in
            let count = 20_000
            let store = try await SQLiteJobStore.open(stateDirectory: directory, logger: silentLogger)
            let id = JobID("big")
            try await store.create(F.record("big", tasks: count), tasks: F.tasks("big", count: count), skipped: [])
            for start in stride(from: 0, to: count, by: 1_000) {
                let range = start..<min(start + 1_000, count)
                try await store.apply(range.map { .placed(id, taskIndex: $0, node: NodeID("n\($0 % 4)"), attempt: 1) })
                try await store.apply(range.map { .completed(id, taskIndex: $0, F.outcome("big", $0, $0 % 10 == 0 ? .failed : .succeeded)) })
            }
            let jobs = try await store.jobs()
            let loaded = try #require(try await store.load(id))
            try await store.close()
            #expect(jobs.first?.succeeded == count - count / 10)
            #expect(jobs.first?.failed == count / 10)
            #expect(loaded.tasks.count == count)
            #expect(loaded.outcomes.count == count)
            #expect(loaded.inFlight.isEmpty)
        }
    }
}
