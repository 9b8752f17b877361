public import Foundation
public import Logging
import NIOCore
public import NIOPosix
import SQLiteNIO
import Synchronization

/// A durable ``JobStore``: one SQLite database, `jobs.sqlite`, in the server's state directory.
/// `dip-server`'s default.
///
/// ```swift
/// let store = try await SQLiteJobStore.open(stateDirectory: "/var/lib/dip-server", logger: logger)
/// // … run the server with it …
/// try await store.close()
/// ```
///
/// The state directory holds:
/// - `lock`: an exclusive `flock(2)` taken by ``open(stateDirectory:threadPool:logger:)`` and held
///   until ``close()`` (or until the process dies, `kill -9` included), so that two servers never
///   share a store. A second open of the same directory fails even in the same process.
/// - `jobs.sqlite` (with `jobs.sqlite-wal` and `jobs.sqlite-shm` while open): the jobs, their
///   planned tasks and each task's outcome. Write-ahead logging, `synchronous=NORMAL`: a
///   committed change survives a crash of the process; a power loss may lose the last
///   transactions, never the database.
///
/// Every write is one transaction: ``create(_:tasks:skipped:)`` stores a job and all its tasks,
/// ``apply(_:)`` a whole batch of task changes, with multi-row statements (so a batch costs a few
/// statements, not one per task). Writes run one at a time, in the order they are called; reads
/// use a second connection and see a consistent snapshot, never half a write.
///
/// - Important: Call ``close()`` before the store is released: it waits for the write under way,
///   closes the database and releases the lock.
public final class SQLiteJobStore: JobStore {
    /// The schema version this build reads and writes (`PRAGMA user_version`). Version 2 added
    /// the tasks' node timings (`o_queue_seconds`, `o_delay_seconds`, `o_processing_seconds`),
    /// version 3 the jobs' `makespan`; an older database is upgraded in place when opened.
    static let schemaVersion = 3
    /// Rows per multi-row `INSERT` or `UPDATE` statement.
    static let rowsPerStatement = 500

    /// The state directory, as given to ``open(stateDirectory:threadPool:logger:)``.
    public let stateDirectory: String
    /// The database file: `<stateDirectory>/jobs.sqlite`.
    public let databasePath: String

    private let writer: SQLiteConnection
    private let reader: SQLiteConnection
    private let writes = SerialGate()
    private let reads = SerialGate()
    /// The lock file's descriptor; `nil` once closed.
    private let lock: Mutex<Int32?>
    private let logger: Logger

    private init(
        stateDirectory: String, databasePath: String, writer: SQLiteConnection, reader: SQLiteConnection,
        lock: Int32, logger: Logger
    ) {
        self.stateDirectory = stateDirectory
        self.databasePath = databasePath
        self.writer = writer
        self.reader = reader
        self.lock = Mutex(lock)
        self.logger = logger
    }

    deinit {
        // Releases the lock even when close() was not called; the connections assert in debug
        // builds if they were not closed.
        if let descriptor = self.lock.withLock({ $0 }) { POSIX.unlock(descriptor) }
    }
}

// MARK: - Opening and closing

extension SQLiteJobStore {
    /// Opens the store in `stateDirectory`, creating the directory (mode 0700, parents too) and
    /// an empty database if they do not exist.
    ///
    /// - Parameters:
    ///   - stateDirectory: The server's own directory for its state: local, never on the shared
    ///     storage, never shared with another server.
    ///   - threadPool: Where the file work and the database's statements run.
    ///   - logger: Where the store logs (at `info` and below).
    /// - Returns: The open store; call ``close()`` when done with it.
    /// - Throws: A ``DistributedImagingError``, one line naming the directory or file at fault:
    ///   - code ``DistributedImagingError/Code/unavailable`` when another store (another
    ///     `dip-server`, or another store in this process) holds the directory's lock;
    ///   - code ``DistributedImagingError/Code/io`` when the directory cannot be created or is not
    ///     writable, or `jobs.sqlite` cannot be read and written (permissions, a directory in its
    ///     place), is not a SQLite database, is corrupt (`PRAGMA quick_check`), or has a schema
    ///     newer than this build's. An existing file is never replaced or changed by a failed
    ///     open: move it aside to start with an empty store, or restore a backup.
    public static func open(
        stateDirectory: String, threadPool: NIOThreadPool = .singleton, logger: Logger
    ) async throws -> SQLiteJobStore {
        guard !stateDirectory.isEmpty else {
            throw DistributedImagingError.invalidArgument("the state directory is empty; name a directory")
        }
        let directory = stateDirectory.count > 1 && stateDirectory.hasSuffix("/")
            ? String(stateDirectory.dropLast()) : stateDirectory
        let databasePath = directory + "/jobs.sqlite"
        let descriptor = try await threadPool.runIfActive { try Self.lockDirectory(directory, databasePath: databasePath) }
        do {
            let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
            let writer = try await Self.connect(databasePath, threadPool: threadPool, logger: logger, on: eventLoop)
            do {
                try await Self.prepare(writer, databasePath: databasePath, logger: logger)
                let reader = try await Self.connect(databasePath, threadPool: threadPool, logger: logger, on: eventLoop)
                do {
                    _ = try await reader.query("PRAGMA query_only = 1")
                } catch {
                    try? await reader.close()
                    throw Self.openFailure(databasePath, error)
                }
                logger.debug("job store opened", metadata: ["dip.store.path": "\(databasePath)"])
                return SQLiteJobStore(
                    stateDirectory: stateDirectory, databasePath: databasePath, writer: writer, reader: reader,
                    lock: descriptor, logger: logger)
            } catch {
                try? await writer.close()
                throw error
            }
        } catch {
            POSIX.unlock(descriptor)
            throw error
        }
    }

    /// Waits for the reads and the write under way, closes the database and releases the state
    /// directory's lock. Calling it again does nothing; the store's other methods throw once it
    /// is closed.
    public func close() async throws {
        try await self.writes.withGate {
            try await self.reads.withGate {
                guard let descriptor = self.lock.withLock({ $0 }) else { return }
                defer {
                    self.lock.withLock { $0 = nil }
                    POSIX.unlock(descriptor)
                }
                var failure: (any Error)?
                do { try await self.reader.close() } catch { failure = error }
                do { try await self.writer.close() } catch { failure = failure ?? error }
                if let failure { throw self.failure("close", failure) }
                self.logger.debug("job store closed", metadata: ["dip.store.path": "\(self.databasePath)"])
            }
        }
    }

    /// Creates the directory, checks that it and the database file can be used, and takes the
    /// lock. Runs on the thread pool.
    private static func lockDirectory(_ directory: String, databasePath: String) throws -> Int32 {
        try POSIX.makeDirectories(directory, mode: 0o700)
        guard POSIX.kind(of: directory, followingSymlinks: true) == .directory else {
            throw DistributedImagingError.io("the state directory '\(directory)' is not a directory; name a directory")
        }
        guard POSIX.isAccessible(directory, R_OK | W_OK | X_OK) else {
            throw DistributedImagingError.io(
                "the state directory '\(directory)' is not writable by this user; fix its permissions or name another directory")
        }
        let lockPath = directory + "/lock"
        guard case .locked(let descriptor) = try POSIX.lockExclusively(lockPath) else {
            throw DistributedImagingError.unavailable(
                "another dip-server is using the state directory '\(directory)' (lock held on '\(lockPath)'); give this server its own --state-dir")
        }
        switch POSIX.kind(of: databasePath, followingSymlinks: true) {
        case nil, .regular?:
            break
        case .directory?, .symbolicLink?, .other?:
            POSIX.unlock(descriptor)
            throw DistributedImagingError.io(
                "cannot open the job store '\(databasePath)': it is not a regular file; move it aside to start with an empty store, or restore a backup")
        }
        if POSIX.kind(of: databasePath, followingSymlinks: true) == .regular, !POSIX.isAccessible(databasePath, R_OK | W_OK) {
            POSIX.unlock(descriptor)
            throw DistributedImagingError.io(
                "cannot open the job store '\(databasePath)': this user cannot read and write it; fix its permissions, or move it aside to start with an empty store")
        }
        return descriptor
    }

    private static func connect(
        _ path: String, threadPool: NIOThreadPool, logger: Logger, on eventLoop: any EventLoop
    ) async throws -> SQLiteConnection {
        do {
            return try await SQLiteConnection.open(storage: .file(path: path), threadPool: threadPool, logger: logger, on: eventLoop)
        } catch {
            throw Self.openFailure(path, error)
        }
    }

    /// Checks the database (readable, a database, not corrupt, a schema this build knows), then
    /// switches it to write-ahead logging and creates the schema if it is new. Nothing is written
    /// before the checks pass.
    private static func prepare(_ connection: SQLiteConnection, databasePath: String, logger: Logger) async throws {
        do {
            let version = try await Self.userVersion(connection)
            if version > Self.schemaVersion {
                throw DistributedImagingError.io(
                    "cannot open the job store '\(databasePath)': its schema version is \(version), newer than this build's (\(Self.schemaVersion)); run a newer dip-server, or move it aside to start with an empty store")
            }
            let check = try await connection.query("PRAGMA quick_check").compactMap { $0.columns.first?.data.string }
            guard check == ["ok"] else {
                let first = check.first ?? "no answer"
                throw DistributedImagingError.io(
                    "cannot open the job store '\(databasePath)': it is corrupt (quick_check: \(first)); restore a backup, or move it aside to start with an empty store")
            }
            let mode = try await connection.query("PRAGMA journal_mode = WAL").first?.columns.first?.data.string
            guard mode?.lowercased() == "wal" else {
                throw DistributedImagingError.io(
                    "cannot open the job store '\(databasePath)': write-ahead logging cannot be enabled (journal mode \(mode ?? "unknown")); move it aside to start with an empty store")
            }
            _ = try await connection.query("PRAGMA synchronous = NORMAL")
            _ = try await connection.query("PRAGMA journal_size_limit = 67108864")
            _ = try await connection.query("BEGIN IMMEDIATE")
            do {
                // Read again inside the transaction: the lock makes this the only writer, but
                // the version decides what is created.
                let found = try await Self.userVersion(connection)
                if found == 0 {
                    for statement in Self.schema { _ = try await connection.query(statement) }
                }
                // Each version's upgrade, from the one found (a new database starts at 1).
                for (index, statements) in Self.migrations.enumerated() where max(found, 1) < index + 2 {
                    for statement in statements { _ = try await connection.query(statement) }
                }
                if found < Self.schemaVersion {
                    _ = try await connection.query("PRAGMA user_version = \(Self.schemaVersion)")
                    if found == 0 {
                        logger.info("job store created", metadata: ["dip.store.path": "\(databasePath)"])
                    } else {
                        logger.info(
                            "job store upgraded",
                            metadata: ["dip.store.path": "\(databasePath)", "dip.store.from": "\(found)", "dip.store.to": "\(Self.schemaVersion)"])
                    }
                }
                _ = try await connection.query("COMMIT")
            } catch {
                _ = try? await connection.query("ROLLBACK")
                throw error
            }
        } catch {
            throw Self.openFailure(databasePath, error)
        }
    }

    private static func userVersion(_ connection: SQLiteConnection) async throws -> Int {
        try await connection.query("PRAGMA user_version").first?.columns.first?.data.integer ?? 0
    }

    /// Version 1; ``migrations`` take it to ``schemaVersion``.
    static let schema = [
        """
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY NOT NULL,
            seq INTEGER NOT NULL,
            request BLOB NOT NULL,
            state TEXT NOT NULL,
            input TEXT NOT NULL,
            output TEXT NOT NULL,
            pipeline TEXT NOT NULL,
            task_count INTEGER NOT NULL,
            skipped_count INTEGER NOT NULL,
            skipped_json BLOB NOT NULL,
            submitted REAL NOT NULL,
            ended REAL,
            message TEXT NOT NULL,
            elapsed REAL NOT NULL
        )
        """,
        "CREATE INDEX jobs_seq ON jobs (seq)",
        "CREATE INDEX jobs_ended ON jobs (ended) WHERE ended IS NOT NULL",
        """
        CREATE TABLE tasks (
            job TEXT NOT NULL,
            idx INTEGER NOT NULL,
            input TEXT NOT NULL,
            output TEXT NOT NULL,
            node TEXT,
            attempt INTEGER,
            status TEXT,
            o_input TEXT,
            o_output TEXT,
            o_node TEXT,
            o_attempts INTEGER,
            o_rejections INTEGER,
            o_delayed INTEGER,
            o_elapsed REAL,
            o_error TEXT,
            o_lost_attempts BLOB,
            o_input_size INTEGER,
            o_input_mtime_ns INTEGER,
            o_output_size INTEGER,
            PRIMARY KEY (job, idx)
        ) WITHOUT ROWID
        """,
        // Counts by status without reading the tasks.
        "CREATE INDEX tasks_status ON tasks (job, status) WHERE status IS NOT NULL",
    ]

    /// The statements that upgrade the schema by one version: element 0 takes version 1 to 2,
    /// and so on. They run in the open's transaction, then `user_version` is set.
    private static let migrations = [
        [
            "ALTER TABLE tasks ADD COLUMN o_queue_seconds REAL",
            "ALTER TABLE tasks ADD COLUMN o_delay_seconds REAL",
            "ALTER TABLE tasks ADD COLUMN o_processing_seconds REAL",
        ],
        ["ALTER TABLE jobs ADD COLUMN makespan REAL"],
    ]

    /// A one-line error for a failed open, naming the file and what to do.
    private static func openFailure(_ path: String, _ error: any Error) -> DistributedImagingError {
        if let error = error as? DistributedImagingError { return error }
        guard let error = error as? SQLiteError else {
            return .io("cannot open the job store '\(path)': \(Self.oneLine("\(error)"))")
        }
        let reason = Self.oneLine(error.message)
        switch error.reason {
        case .notADatabase:
            return .io(
                "cannot open the job store '\(path)': it is not a SQLite database (\(reason)); move it aside to start with an empty store, or restore a backup")
        case .corrupt, .corruptIndex, .corruptSequenceSchema, .corruptVirtualTable:
            return .io(
                "cannot open the job store '\(path)': it is corrupt (\(reason)); restore a backup, or move it aside to start with an empty store")
        case .cantOpen, .cantOpenDirectory, .cantOpenInvalidPath, .cantOpenUnfollowedSymlink, .permission, .auth,
            .readOnly, .readonlyCantLock, .readonlyDirectory, .readonlyInRecovery, .readonlyInRollback,
            .readonlyBackingMoved:
            return .io(
                "cannot open the job store '\(path)': it cannot be read and written (\(reason)); fix the permissions of the file and its directory, or move it aside to start with an empty store")
        default:
            return .io(
                "cannot open the job store '\(path)': \(reason); move it aside to start with an empty store, or restore a backup")
        }
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}

// MARK: - JobStore

extension SQLiteJobStore {
    public func create(_ job: JobRecord, tasks: [PlannedTask], skipped: [JobReceipt.Task]) async throws {
        let encoder = JSONEncoder()
        let request = try encoder.encode(job.request)
        let skippedJSON = try encoder.encode(skipped)
        let id = SQLiteData.text(job.id.rawValue)
        try await self.write("create job \(job.id)") { connection in
            // A job created again under the same id replaces the old one, as in InMemoryJobStore.
            _ = try await connection.query("DELETE FROM tasks WHERE job = ?", [id])
            _ = try await connection.query(
                """
                INSERT OR REPLACE INTO jobs (id, seq, request, state, input, output, pipeline, task_count,
                    skipped_count, skipped_json, submitted, ended, message, elapsed)
                VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM jobs), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    id, .blob(ByteBuffer(bytes: request)), .text(job.state.rawValue), .text(job.input),
                    .text(job.output), .text(job.pipeline), .integer(job.tasks), .integer(job.skipped),
                    .blob(ByteBuffer(bytes: skippedJSON)), .float(job.submitted.timeIntervalSince1970),
                    job.ended.map { .float($0.timeIntervalSince1970) } ?? .null, .text(job.message), .float(job.elapsed),
                ])
            for chunk in tasks.chunked(Self.rowsPerStatement) {
                var binds: [SQLiteData] = []
                binds.reserveCapacity(chunk.count * 4)
                for task in chunk {
                    binds += [id, .integer(task.index), .text(task.input), .text(task.output)]
                }
                _ = try await connection.query(
                    "INSERT INTO tasks (job, idx, input, output) VALUES " + Self.rows(chunk.count, columns: 4), binds)
            }
        }
    }

    public func apply(_ changes: [JobStoreChange]) async throws {
        guard !changes.isEmpty else { return }
        // Reduce the batch to one change per task, as applying it in order would leave it: the
        // last completion wins and drops earlier placements; a placement after a completion is
        // ignored; otherwise the last placement wins.
        struct Key: Hashable {
            var job: JobID
            var index: Int
        }
        var placed: [Key: (node: NodeID, attempt: Int)] = [:]
        var completed: [Key: JobReceipt.Task] = [:]
        for change in changes {
            switch change {
            case .placed(let job, let index, let node, let attempt):
                let key = Key(job: job, index: index)
                if completed[key] == nil { placed[key] = (node, attempt) }
            case .completed(let job, let index, let task):
                let key = Key(job: job, index: index)
                completed[key] = task
                placed[key] = nil
            }
        }
        let order: (Key, Key) -> Bool = { ($0.job.rawValue, $0.index) < ($1.job.rawValue, $1.index) }
        var placedBinds: [[SQLiteData]] = []
        for chunk in placed.keys.sorted(by: order).chunked(Self.rowsPerStatement) {
            var binds: [SQLiteData] = []
            binds.reserveCapacity(chunk.count * 4)
            for key in chunk {
                guard let placement = placed[key] else { continue }
                binds += [.text(key.job.rawValue), .integer(key.index), .text(placement.node.rawValue), .integer(placement.attempt)]
            }
            placedBinds.append(binds)
        }
        let encoder = JSONEncoder()
        var completedBinds: [[SQLiteData]] = []
        for chunk in completed.keys.sorted(by: order).chunked(Self.rowsPerStatement) {
            var binds: [SQLiteData] = []
            binds.reserveCapacity(chunk.count * Self.outcomeBindCount)
            for key in chunk {
                guard let task = completed[key] else { continue }
                try Self.appendOutcome(task, of: key.job, index: key.index, to: &binds, encoder: encoder)
            }
            completedBinds.append(binds)
        }
        try await self.write("apply \(changes.count) task changes") { connection in
            // Rows of tasks the store does not hold match nothing: changes for unknown jobs are
            // ignored.
            for binds in placedBinds {
                _ = try await connection.query(
                    """
                    UPDATE tasks SET node = v.column3, attempt = v.column4
                    FROM (VALUES \(Self.rows(binds.count / 4, columns: 4))) AS v
                    WHERE tasks.job = v.column1 AND tasks.idx = v.column2 AND tasks.status IS NULL
                    """, binds)
            }
            for binds in completedBinds {
                _ = try await connection.query(
                    """
                    UPDATE tasks SET node = NULL, attempt = NULL, \(Self.outcomeAssignments)
                    FROM (VALUES \(Self.rows(binds.count / Self.outcomeBindCount, columns: Self.outcomeBindCount))) AS v
                    WHERE tasks.job = v.column1 AND tasks.idx = v.column2
                    """, binds)
            }
        }
    }

    public func finish(
        _ id: JobID, state: JobRecord.State, message: String, finished: Date, elapsed: Double, makespan: Double?
    ) async throws {
        try await self.write("finish job \(id)") { connection in
            _ = try await connection.query(
                "UPDATE jobs SET state = ?, message = ?, ended = ?, elapsed = ?, makespan = ? WHERE id = ?",
                [
                    .text(state.rawValue), .text(message), .float(finished.timeIntervalSince1970), .float(elapsed),
                    makespan.map { .float($0) } ?? .null, .text(id.rawValue),
                ])
        }
    }

    public func jobs() async throws -> [JobRecord] {
        let (rows, counts) = try await self.read("list jobs") { connection in
            let rows = try await connection.query("SELECT \(Self.jobColumns) FROM jobs ORDER BY seq DESC")
            let counts = try await connection.query(
                "SELECT job, status, count(*) FROM tasks WHERE status IS NOT NULL GROUP BY job, status")
            return (rows, counts)
        }
        var succeeded: [String: Int] = [:]
        var failed: [String: Int] = [:]
        for row in counts {
            let values = row.values
            guard values.count == 3, let job = values[0].string, let status = values[1].string, let count = values[2].integer
            else { continue }
            switch JobReceipt.Outcome(rawValue: status) {
            case .succeeded?: succeeded[job, default: 0] += count
            case .failed?, .cancelled?: failed[job, default: 0] += count
            case .skipped?, nil: break
            }
        }
        let decoder = JSONDecoder()
        return try rows.map { row in
            var record = try self.record(row, decoder: decoder)
            record.succeeded = succeeded[record.id.rawValue] ?? 0
            record.failed = failed[record.id.rawValue] ?? 0
            return record
        }
    }

    /// One job with its tasks, skipped entries, outcomes and placements in flight. The record's
    /// ``JobRecord/succeeded`` and ``JobRecord/failed`` are counted from the outcomes, as in
    /// ``jobs()``.
    public func load(_ id: JobID) async throws -> StoredJob? {
        let loaded = try await self.read("load job \(id)") { connection -> ([SQLiteRow], [SQLiteRow])? in
            let jobs = try await connection.query(
                "SELECT \(Self.jobColumns), skipped_json FROM jobs WHERE id = ?", [.text(id.rawValue)])
            guard !jobs.isEmpty else { return nil }
            let tasks = try await connection.query(
                "SELECT idx, input, output, node, attempt, \(Self.outcomeColumns) FROM tasks WHERE job = ? ORDER BY idx",
                [.text(id.rawValue)])
            return (jobs, tasks)
        }
        guard let (jobs, rows) = loaded, let row = jobs.first else { return nil }
        let decoder = JSONDecoder()
        var record = try self.record(row, decoder: decoder)
        let skipped = try self.decode([JobReceipt.Task].self, row.values[Self.jobColumnCount], decoder, "skipped entries of job \(id)")
        var tasks: [PlannedTask] = []
        tasks.reserveCapacity(rows.count)
        var outcomes: [Int: JobReceipt.Task] = [:]
        var inFlight: [Int: StoredJob.Attempt] = [:]
        for row in rows {
            let values = row.values
            guard values.count == 5 + Self.outcomeColumnCount, let index = values[0].integer, let input = values[1].string,
                let output = values[2].string
            else { throw self.corrupt("a task row of job \(id)") }
            tasks.append(PlannedTask(index: index, input: input, output: output))
            if !values[5].isNull {
                let outcome = try self.outcome(values[5...], decoder: decoder, what: "task \(index) of job \(id)")
                outcomes[index] = outcome
                switch outcome.status {
                case .succeeded: record.succeeded += 1
                case .failed, .cancelled: record.failed += 1
                case .skipped: break
                }
            } else if let node = values[3].string, let attempt = values[4].integer {
                inFlight[index] = StoredJob.Attempt(node: NodeID(node), attempt: attempt)
            }
        }
        return StoredJob(record: record, tasks: tasks, skipped: skipped, outcomes: outcomes, inFlight: inFlight)
    }

    @discardableResult
    public func prune(endedBefore date: Date) async throws -> Int {
        let cutoff = SQLiteData.float(date.timeIntervalSince1970)
        return try await self.write("prune jobs") { connection in
            _ = try await connection.query(
                "DELETE FROM tasks WHERE job IN (SELECT id FROM jobs WHERE ended IS NOT NULL AND ended < ?)", [cutoff])
            return try await connection.query("DELETE FROM jobs WHERE ended IS NOT NULL AND ended < ? RETURNING id", [cutoff]).count
        }
    }
}

// MARK: - Transactions and rows

extension SQLiteJobStore {
    /// Runs `body` in one write transaction (`BEGIN IMMEDIATE` … `COMMIT`, rolled back if it
    /// throws), after the writes called before it.
    private func write<T: Sendable>(
        _ what: @autoclosure () -> String, _ body: (SQLiteConnection) async throws -> T
    ) async throws -> T {
        do {
            return try await self.writes.withGate {
                try self.checkOpen()
                _ = try await self.writer.query("BEGIN IMMEDIATE")
                do {
                    let result = try await body(self.writer)
                    _ = try await self.writer.query("COMMIT")
                    return result
                } catch {
                    _ = try? await self.writer.query("ROLLBACK")
                    throw error
                }
            }
        } catch {
            throw self.failure(what(), error)
        }
    }

    /// Runs `body` in one read transaction on the reading connection: its statements see one
    /// snapshot of the database.
    private func read<T: Sendable>(
        _ what: @autoclosure () -> String, _ body: (SQLiteConnection) async throws -> T
    ) async throws -> T {
        do {
            return try await self.reads.withGate {
                try self.checkOpen()
                _ = try await self.reader.query("BEGIN")
                do {
                    let result = try await body(self.reader)
                    _ = try await self.reader.query("COMMIT")
                    return result
                } catch {
                    _ = try? await self.reader.query("ROLLBACK")
                    throw error
                }
            }
        } catch {
            throw self.failure(what(), error)
        }
    }

    private func checkOpen() throws {
        guard self.lock.withLock({ $0 }) != nil else {
            throw DistributedImagingError.unavailable("the job store '\(self.databasePath)' is closed")
        }
    }

    private func failure(_ what: String, _ error: any Error) -> DistributedImagingError {
        if let error = error as? DistributedImagingError { return error }
        let reason = (error as? SQLiteError).map(\.message) ?? "\(error)"
        return .io("job store '\(self.databasePath)': cannot \(what): \(Self.oneLine(reason))")
    }

    private func corrupt(_ what: String) -> DistributedImagingError {
        .io("job store '\(self.databasePath)': \(what) cannot be read; the database may be corrupt")
    }

    /// The columns of a job's record, in the order ``record(_:decoder:)`` reads them.
    private static let jobColumns =
        "id, request, state, input, output, pipeline, task_count, skipped_count, submitted, ended, message, elapsed, makespan"
    private static let jobColumnCount = 13

    private func record(_ row: SQLiteRow, decoder: JSONDecoder) throws -> JobRecord {
        let values = row.values
        guard values.count >= Self.jobColumnCount, let id = values[0].string else { throw self.corrupt("a job row") }
        guard let state = values[2].string.flatMap(JobRecord.State.init(rawValue:)),
            let input = values[3].string, let output = values[4].string, let pipeline = values[5].string,
            let tasks = values[6].integer, let skipped = values[7].integer, let submitted = values[8].double,
            let message = values[10].string, let elapsed = values[11].double
        else { throw self.corrupt("job \(id)") }
        let request = try self.decode(JobRequest.self, values[1], decoder, "the request of job \(id)")
        var record = JobRecord(
            id: JobID(id), request: request, state: state, input: input, output: output, pipeline: pipeline, tasks: tasks,
            skipped: skipped, submitted: Date(timeIntervalSince1970: submitted),
            ended: values[9].double.map { Date(timeIntervalSince1970: $0) }, message: message, elapsed: elapsed)
        // Only a finite, non-negative number is a makespan (the file is not trusted).
        record.makespan = values[12].double.flatMap { $0.isFinite && $0 >= 0 ? $0 : nil }
        return record
    }

    private func decode<T: Decodable>(_ type: T.Type, _ value: SQLiteData, _ decoder: JSONDecoder, _ what: String) throws -> T {
        guard let buffer = value.blob else { throw self.corrupt(what) }
        do {
            return try decoder.decode(type, from: Data(buffer.readableBytesView))
        } catch {
            throw self.corrupt(what)
        }
    }

    /// The columns of a task's outcome (`status` `NULL` while it has none), in the order
    /// ``outcome(_:decoder:what:)`` reads them. `o_lost_attempts` is a JSON array, `NULL` when
    /// empty. Columns rather than one JSON blob per task: Foundation's JSON coders cost ~20 µs a
    /// task, the bulk of applying or loading a large job.
    private static let outcomeColumns =
        "status, o_input, o_output, o_node, o_attempts, o_rejections, o_delayed, o_elapsed, o_error, o_lost_attempts, o_input_size, o_input_mtime_ns, o_output_size, o_queue_seconds, o_delay_seconds, o_processing_seconds"
    private static let outcomeColumnCount = 16
    /// Binds per completed task: job and index, then the outcome's columns.
    private static let outcomeBindCount = 2 + outcomeColumnCount
    /// `status = v.column3, o_input = v.column4, …`, for an update from rows of
    /// ``appendOutcome(_:of:index:to:encoder:)``.
    private static let outcomeAssignments = outcomeColumns.split(separator: ",").enumerated().map { offset, column in
        "\(column.trimmingCharacters(in: .whitespaces)) = v.column\(offset + 3)"
    }.joined(separator: ", ")

    private static func appendOutcome(
        _ task: JobReceipt.Task, of job: JobID, index: Int, to binds: inout [SQLiteData], encoder: JSONEncoder
    ) throws {
        binds += [
            .text(job.rawValue), .integer(index), .text(task.status.rawValue), .text(task.input),
            task.output.map { .text($0) } ?? .null, task.node.map { .text($0.rawValue) } ?? .null, .integer(task.attempts),
            .integer(task.rejections), .integer(task.delayed ? 1 : 0), .float(task.elapsed),
            task.error.map { .text($0) } ?? .null,
            task.lostAttempts.isEmpty ? .null : .blob(ByteBuffer(bytes: try encoder.encode(task.lostAttempts))),
            task.inputSize.map { .integer(SQLiteInt64($0)) } ?? .null,
            task.inputModifiedNanoseconds.map { .integer(SQLiteInt64($0)) } ?? .null,
            task.outputSize.map { .integer(SQLiteInt64($0)) } ?? .null,
            task.queueSeconds.map { .float($0) } ?? .null, task.delaySeconds.map { .float($0) } ?? .null,
            task.processingSeconds.map { .float($0) } ?? .null,
        ]
    }

    private func outcome(_ values: ArraySlice<SQLiteData>, decoder: JSONDecoder, what: String) throws -> JobReceipt.Task {
        let values = Array(values)
        guard values.count == Self.outcomeColumnCount,
            let status = values[0].string.flatMap(JobReceipt.Outcome.init(rawValue:)), let input = values[1].string,
            let attempts = values[4].integer, let rejections = values[5].integer, let delayed = values[6].integer,
            let elapsed = values[7].double
        else { throw self.corrupt(what) }
        let lostAttempts = values[9].isNull ? [] : try self.decode([String].self, values[9], decoder, what)
        // The timings are NULL when unknown (and in rows written before schema version 2).
        var seconds: [Double?] = []
        for value in values[13...15] {
            if value.isNull {
                seconds.append(nil)
            } else {
                guard let number = value.double, number.isFinite, number >= 0 else { throw self.corrupt(what) }
                seconds.append(number)
            }
        }
        var task = JobReceipt.Task(
            input: input, output: values[2].string, status: status, node: values[3].string.map(NodeID.init(_:)),
            attempts: attempts, rejections: rejections, delayed: delayed != 0, elapsed: elapsed, error: values[8].string,
            lostAttempts: lostAttempts, inputSize: values[10].integer.map(Int64.init),
            inputModifiedNanoseconds: values[11].integer.map(Int64.init), outputSize: values[12].integer.map(Int64.init))
        task.queueSeconds = seconds[0]
        task.delaySeconds = seconds[1]
        task.processingSeconds = seconds[2]
        return task
    }

    /// `count` rows of `columns` placeholders: `(?, ?), (?, ?)`.
    private static func rows(_ count: Int, columns: Int) -> String {
        let row = "(" + Array(repeating: "?", count: columns).joined(separator: ",") + ")"
        return Array(repeating: row, count: count).joined(separator: ",")
    }
}

extension SQLiteRow {
    /// The row's values in the order of the statement's columns.
    fileprivate var values: [SQLiteData] { self.columns.map(\.data) }
}

extension Array {
    /// The array cut into consecutive slices of at most `size` elements.
    fileprivate func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: self.count, by: size).map { self[$0..<Swift.min($0 + size, self.count)] }
    }
}
