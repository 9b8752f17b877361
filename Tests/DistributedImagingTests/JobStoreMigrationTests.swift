import Foundation
import NIOCore
import NIOPosix
import SQLiteNIO
import Testing

@testable import DistributedImaging

private typealias F = JobStoreFixtures

/// Schema versions 2 (the tasks' node timings) and 3 (the jobs' makespan), and the in-place
/// upgrade of a version-1 database.
@Suite("SQLiteJobStore schema upgrade")
struct JobStoreMigrationTests {
    /// A task outcome with its node timings.
    private static func timed(_ id: String, _ index: Int) -> JobReceipt.Task {
        var task = F.outcome(id, index, .succeeded)
        task.queueSeconds = 0.25 + Double(index)
        task.delaySeconds = index == 0 ? 3.0 : 0
        task.processingSeconds = 0.0625
        return task
    }

    @Test func timingsRoundTrip() async throws {
        try await withTemporaryDirectory { directory in
            let store = try await SQLiteJobStore.open(stateDirectory: directory, logger: silentLogger)
            let id = JobID("t")
            try await store.create(F.record("t"), tasks: F.tasks("t"), skipped: [])
            var untimed = F.outcome("t", 2, .failed)
            untimed.queueSeconds = nil
            try await store.apply([
                .completed(id, taskIndex: 0, Self.timed("t", 0)), .completed(id, taskIndex: 1, Self.timed("t", 1)),
                .completed(id, taskIndex: 2, untimed),
            ])
            try await store.close()
            let reopened = try await SQLiteJobStore.open(stateDirectory: directory, logger: silentLogger)
            let stored = try #require(try await reopened.load(id))
            try await reopened.close()
            #expect(stored.outcomes[0] == Self.timed("t", 0))
            #expect(stored.outcomes[1] == Self.timed("t", 1))
            #expect(stored.outcomes[1]?.queueSeconds == 1.25)
            #expect(stored.outcomes[0]?.delaySeconds == 3.0)
            #expect(stored.outcomes[2] == untimed)
            #expect(stored.outcomes[2]?.processingSeconds == nil)
        }
    }

    /// A database written by a version-1 build (its DDL and rows run by hand) opens, is upgraded
    /// to the current version in place, keeps its rows, and then stores timings and a makespan.
    @Test func versionOneDatabaseIsUpgradedInPlace() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/jobs.sqlite"
            try await Self.writeVersionOne(path)
            #expect(try Self.userVersion(path) == 1)

            let store = try await SQLiteJobStore.open(stateDirectory: directory, logger: silentLogger)
            let stored = try #require(try await store.load(JobID("old")))
            #expect(stored.record.input == "in/old")
            #expect(stored.tasks.count == 2)
            let old = try #require(stored.outcomes[0])
            #expect(old.status == .succeeded)
            #expect(old.node == NodeID("node-0"))
            #expect(old.elapsed == 0.5)
            #expect(old.queueSeconds == nil && old.delaySeconds == nil && old.processingSeconds == nil)
            #expect(stored.inFlight[1] == StoredJob.Attempt(node: NodeID("node-1"), attempt: 3))
            #expect(try await store.jobs().map(\.id) == [JobID("old")])
            // The upgraded table takes the new columns.
            try await store.apply([.completed(JobID("old"), taskIndex: 1, Self.timed("old", 1))])
            #expect(try await store.load(JobID("old"))?.outcomes[1] == Self.timed("old", 1))
            #expect(stored.record.makespan == nil)
            try await store.finish(
                JobID("old"), state: .succeeded, message: "ok", finished: F.epoch.addingTimeInterval(9), elapsed: 9, makespan: 2.5)
            #expect(try await store.load(JobID("old"))?.record.makespan == 2.5)
            try await store.close()
            #expect(try Self.userVersion(path) == SQLiteJobStore.schemaVersion)
            #expect(SQLiteJobStore.schemaVersion == 3)

            // Opening again does not upgrade twice (ADD COLUMN would fail on a second run).
            let again = try await SQLiteJobStore.open(stateDirectory: directory, logger: silentLogger)
            #expect(try await again.load(JobID("old"))?.outcomes[1] == Self.timed("old", 1))
            try await again.close()
        }
    }

    /// `PRAGMA user_version`: the big-endian 32-bit integer at offset 60 of the header.
    private static func userVersion(_ path: String) throws -> Int {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path))[60..<64])
        return bytes.reduce(0) { $0 << 8 | Int($1) }
    }

    /// The version-1 schema and two tasks of one job, as a version-1 build left them: task 0
    /// succeeded, task 1 placed on node-1 (attempt 3).
    private static func writeVersionOne(_ path: String) async throws {
        let connection = try await SQLiteConnection.open(
            storage: .file(path: path), threadPool: .singleton, logger: silentLogger,
            on: MultiThreadedEventLoopGroup.singleton.any())
        do {
            for statement in SQLiteJobStore.schema { _ = try await connection.query(statement) }
            _ = try await connection.query("PRAGMA user_version = 1")
            let request = try JSONEncoder().encode(F.record("old").request)
            _ = try await connection.query(
                """
                INSERT INTO jobs (id, seq, request, state, input, output, pipeline, task_count, skipped_count,
                    skipped_json, submitted, ended, message, elapsed)
                VALUES ('old', 1, ?, 'running', 'in/old', 'out/old', 'grayscale', 2, 0, ?, 1700000000.0, NULL, '', 0)
                """, [.blob(ByteBuffer(bytes: request)), .blob(ByteBuffer(string: "[]"))])
            _ = try await connection.query(
                """
                INSERT INTO tasks (job, idx, input, output, status, o_input, o_output, o_node, o_attempts,
                    o_rejections, o_delayed, o_elapsed)
                VALUES ('old', 0, 'in/old/img-0.png', 'out/old/img-0.jpg', 'succeeded', 'in/old/img-0.png',
                    'out/old/img-0.jpg', 'node-0', 1, 0, 0, 0.5)
                """)
            _ = try await connection.query(
                "INSERT INTO tasks (job, idx, input, output, node, attempt) VALUES ('old', 1, 'in/old/img-1.png', 'out/old/img-1.jpg', 'node-1', 3)")
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }
}
