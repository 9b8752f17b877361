import DistributedImaging
import DistributedImagingGRPC
import Foundation
import Testing

/// Jobs outlive their client and their server: `kill -9` the real dip-server during a detached
/// job, start it again on the same state directory, and `dip-client wait` sees the job succeed.
@Suite("Server restart (real executables)", .timeLimit(.minutes(3)))
struct RestartTests {
    static let images = 500

    /// Starts a server and two slow-ish nodes, submits a 500-image job with `--detach`, runs
    /// `whileRunning` (which kills the server), restarts the server on the same port and state
    /// directory, and checks everything the job left.
    func killAndResume(
        _ cluster: FaultCluster, whileRunning: (FaultCluster, PeerAddress, JobID) async throws -> Void
    ) async throws {
        _ = try cluster.makeImages(Self.images, in: "in")
        let address = try await cluster.startServer(["--heartbeat-interval", "0.5"])
        // Every task is delayed 20 ms, so the job runs for about a second on 2 nodes × 8 slots.
        for name in ["n1", "n2"] {
            try await cluster.startNode(name, ["--policy", "mandatory", "--load", "1", "--delay", "0.02"])
        }
        try await cluster.waitForNodes(2)
        let submit = try cluster.startClient(["submit", "--server", "\(address)", "--detach", "--pipeline", "invert", "in"], name: "submit")
        #expect(try await submit.waitForExit() == 0, "\(submit.errors)")
        let id = JobID(submit.output.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(!id.rawValue.isEmpty && !id.rawValue.contains(" "), "stdout: '\(submit.output)'")

        try await whileRunning(cluster, address, id)

        // Attach before the server is back: wait reconnects until the job ends.
        let wait = try cluster.startClient(
            ["wait", "--server", "\(address)", "--timeout", "120", "--quiet", "--json", id.rawValue], name: "wait")
        try await cluster.startServer(["--heartbeat-interval", "0.5"], listen: "\(address)")
        #expect(try await wait.waitForExit(timeout: .seconds(150)) == 0, "\(wait.errors)")

        let receipt = try JobReceipt.decodeJSON(Array(Data(wait.output.utf8)), source: "wait --json")
        #expect(receipt.status == .succeeded)
        #expect(receipt.tasks.count == Self.images)
        #expect(Set(receipt.tasks.map(\.input)).count == Self.images)
        let onDisk = try JobReceipt.decodeJSON(
            Array(try Data(contentsOf: cluster.root.appendingPathComponent("in-out/receipt.json"))), source: "receipt.json")
        #expect(onDisk.status == .succeeded && Set(onDisk.tasks.map(\.input)).count == Self.images && onDisk.tasks.count == Self.images)
        // Every output exists, decodes and is what the pipeline makes.
        #expect(try cluster.expectOutputsMatchReference(receipt, pipeline: "invert") == [])
        #expect(cluster.temporaryFiles(in: "in-out") == [])
        // The store, through the restarted server: the job once, every task once.
        let stored = try await GRPCJobSubmitter.withSubmitter(server: address) { submitter in
            var events: [JobEvent] = []
            for try await event in try await submitter.watch(id) { events.append(event) }
            return (try await submitter.jobs(), events)
        }
        #expect(stored.0.map(\.id) == [id])
        #expect(stored.0.first?.state == .succeeded && stored.0.first?.succeeded == Self.images)
        guard case .finished(let fromStore)? = stored.1.last else { throw TestFailure("no receipt from the store") }
        #expect(Set(fromStore.tasks.map(\.input)).count == Self.images && fromStore.tasks.count == Self.images)
    }

    @Test("kill -9 in the middle of a detached job: after a restart the job resumes and wait exits 0")
    func killMidJob() async throws {
        try await withFaultCluster { cluster in
            try await self.killAndResume(cluster) { cluster, address, id in
                // Kill once the job is under way but far from done (the fault must hit a running job).
                let deadline = ContinuousClock.now + .seconds(60)
                while true {
                    let record = try await GRPCJobSubmitter.withSubmitter(server: address) { try await $0.jobs() }.first
                    let done = (record?.succeeded ?? 0) + (record?.failed ?? 0)
                    if done >= 40 {
                        try #require(record?.state == .running && done < Self.images, "the job ended before the kill: \(String(describing: record))")
                        break
                    }
                    guard ContinuousClock.now < deadline else { throw TestFailure("the job did not get under way") }
                    try await Task.sleep(for: .milliseconds(20))
                }
                try #require(cluster.server).signal(SIGKILL)
                _ = try await #require(cluster.server).waitForExit()
            }
        }
    }

    @Test("kill -9 within the first second after the job was accepted: it resumes too")
    func killRightAfterAccept() async throws {
        try await withFaultCluster { cluster in
            try await self.killAndResume(cluster) { cluster, _, _ in
                try #require(cluster.server).signal(SIGKILL)
                _ = try await #require(cluster.server).waitForExit()
            }
        }
    }

    @Test("A corrupt state database: the server refuses to start with one line naming the file, and leaves it alone")
    func corruptDatabase() async throws {
        try await withFaultCluster { cluster in
            let state = cluster.logs.appendingPathComponent("corrupt.state")
            try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
            let database = state.appendingPathComponent("jobs.sqlite")
            let garbage = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
            try garbage.write(to: database)
            let server = try ManagedProcess(
                "dip-server", ["--listen", "127.0.0.1:0", "--storage-root", cluster.root.path, "--state-dir", state.path],
                logDirectory: cluster.logs, name: "corrupt")
            #expect(try await server.waitForExit() == 2)
            let lines = server.errors.split(separator: "\n")
            #expect(lines.count == 1 && lines.first?.contains(database.path) == true, "\(server.errors)")
            #expect(try Data(contentsOf: database) == garbage)
        }
    }

    @Test("A second server on the same state directory refuses to start, naming it")
    func stateDirectoryIsLocked() async throws {
        try await withFaultCluster { cluster in
            let state = cluster.logs.appendingPathComponent("shared.state").path
            let first = try ManagedProcess(
                "dip-server", ["--listen", "127.0.0.1:0", "--storage-root", cluster.root.path, "--state-dir", state],
                logDirectory: cluster.logs, name: "first")
            defer { first.stop() }
            _ = try await first.waitForLine(containing: "listening on ")
            let second = try ManagedProcess(
                "dip-server", ["--listen", "127.0.0.1:0", "--storage-root", cluster.root.path, "--state-dir", state],
                logDirectory: cluster.logs, name: "second")
            #expect(try await second.waitForExit() == 2)
            #expect(second.errors.contains(state) && second.errors.split(separator: "\n").count == 1, "\(second.errors)")
        }
    }
}
