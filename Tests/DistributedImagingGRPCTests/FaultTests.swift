import DistributedImaging
import DistributedImagingGRPC
import Foundation
import Testing

/// Faults injected into real processes on 127.0.0.1: a node killed, hung or drained mid-job,
/// the server killed mid-job, bad inputs, path escapes. Small 64×48 images and short delays keep
/// the suite to seconds.
@Suite("Faults (real executables)", .serialized, .timeLimit(.minutes(2)))
struct FaultTests {
    static let pipeline = "grayscale | gaussian(size: 3)"

    @Test("kill -9 of one of four nodes mid-job: the job succeeds, outputs are complete and exact, no temporary files")
    func nodeKilled() async throws {
        try await withFaultCluster { cluster in
            try await cluster.startServer(["--heartbeat-interval", "0.5", "--task-timeout", "10"])
            for index in 1...4 {
                try await cluster.startNode(
                    "node-\(index)",
                    ["--policy", "mandatory", "--load", "0.5", "--delay", "0.1", "--max-concurrent", "4", "--seed", "\(index)"])
            }
            try await cluster.waitForNodes(4)
            let images = try cluster.makeImages(240, in: "in")
            // An orphan of an attempt that died mid-write before this job: swept at the end.
            let out = cluster.root.appendingPathComponent("out")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            try Data([1, 2, 3]).write(to: out.appendingPathComponent(".img-0000.png.4242-1-zz.tmp"))

            let client = try cluster.startClient(
                ["submit", "--server", "\(try #require(cluster.serverAddress))", "--pipeline", Self.pipeline,
                 "--output", "out", "--json", "in"],
                name: "client")
            try await ManagedProcess.waitUntil {
                ((try? FileManager.default.contentsOfDirectory(atPath: out.path))?.count ?? 0) > 30 || !client.process.isRunning
            }
            let victim = try #require(cluster.nodes["node-2"])
            try #require(client.process.isRunning, "the job ended before the kill: nothing to observe")
            victim.signal(SIGKILL)
            let status = try await client.waitForExit(timeout: .seconds(60))
            #expect(status == 0, "dip-client: \(client.errors)")
            #expect(client.process.isRunning == false)
            let receipt = try client.receipt()
            #expect(receipt.status == .succeeded)
            // The kill hit the job: attempts in flight on node-2 were lost and placed again.
            let lost = receipt.tasks.flatMap(\.lostAttempts).filter { $0.contains("on node 'node-2'") }
            #expect(!lost.isEmpty, "no attempt was lost on node-2: the kill did not hit the job")
            #expect(receipt.counts.succeeded == images.count)
            #expect(try cluster.expectOutputsMatchReference(receipt, pipeline: Self.pipeline).isEmpty)
            #expect(cluster.temporaryFiles(in: "out").isEmpty, "left: \(cluster.temporaryFiles(in: "out"))")
            let outputs = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".png") }
            #expect(outputs.count == images.count)
        }
    }

    @Test("A static node that dies is health-checked out of placement, and back in when it returns")
    func staticNodeDownAndBack() async throws {
        try await withFaultCluster { cluster in
            let (_, first) = try await cluster.startStaticNode("static-1")
            let (victim, second) = try await cluster.startStaticNode("static-2")
            let config = cluster.logs.appendingPathComponent("dip.json")
            try Data(
                #"{"server": {"nodes": [{"name": "static-1", "address": "\#(first)"}, {"name": "static-2", "address": "\#(second)"}]}}"#
                    .utf8
            ).write(to: config)
            let server = try await cluster.startServer(["--config", config.path, "--heartbeat-interval", "0.3"])
            try await cluster.waitForNodes(2)
            victim.signal(SIGKILL)
            try await cluster.waitForNodes(1, timeout: .seconds(10))
            _ = try cluster.makeImages(30, in: "in")
            let client = try cluster.startClient(
                ["submit", "--server", "\(server)", "--pipeline", Self.pipeline, "--json", "in"], name: "client")
            #expect(try await client.waitForExit() == 0, "\(client.errors)")
            let receipt = try client.receipt()
            #expect(receipt.tasks.allSatisfy { $0.node == NodeID("static-1") && $0.attempts == 1 }, "no attempt lost on the dead node")
            // It comes back on the same address: listed again. The killed process is reaped first;
            // binding the port again is retried (bounded) in case the kernel still holds it.
            _ = try await victim.waitForExit(timeout: .seconds(10))
            let deadline = ContinuousClock.now + .seconds(15)
            while true {
                do {
                    _ = try await cluster.startStaticNode("static-2", listen: "\(second)")
                    break
                } catch {
                    guard ContinuousClock.now < deadline else { throw error }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            try await cluster.waitForNodes(2, timeout: .seconds(10))
        }
    }

    @Test("A node that registers during a job takes part in it")
    func nodeJoinsMidJob() async throws {
        try await withFaultCluster { cluster in
            let server = try await cluster.startServer(["--heartbeat-interval", "0.3"])
            try await cluster.startNode(
                "node-1", ["--policy", "optional", "--load", "0.5", "--delay", "0.3", "--max-concurrent", "2", "--seed", "1"])
            try await cluster.waitForNodes(1)
            _ = try cluster.makeImages(100, in: "in")
            let out = cluster.root.appendingPathComponent("out")
            let client = try cluster.startClient(
                ["submit", "--server", "\(server)", "--pipeline", Self.pipeline, "--output", "out", "--json", "in"], name: "client")
            try await ManagedProcess.waitUntil {
                ((try? FileManager.default.contentsOfDirectory(atPath: out.path))?.count ?? 0) > 2 || !client.process.isRunning
            }
            try await cluster.startNode("node-2", ["--load", "0", "--seed", "2"])
            try await cluster.waitForNodes(2)
            try #require(client.process.isRunning, "the job ended before node-2 registered: nothing to observe")
            #expect(try await client.waitForExit() == 0, "\(client.errors)")
            let receipt = try client.receipt()
            #expect(receipt.tasks.contains { $0.node == NodeID("node-2") }, "the new node took tasks of the running job")
        }
    }

    @Test("A hung node (SIGSTOP): dropped after 3 missed health checks, its tasks placed again; late writes change nothing")
    func nodeHung() async throws {
        try await withFaultCluster { cluster in
            try await cluster.startServer(["--heartbeat-interval", "0.5", "--task-timeout", "1"])
            for index in 1...3 {
                try await cluster.startNode(
                    "node-\(index)", ["--load", "0.5", "--delay", "0.1", "--max-concurrent", "4", "--seed", "\(index)"])
            }
            try await cluster.waitForNodes(3)
            let images = try cluster.makeImages(80, in: "in")
            let out = cluster.root.appendingPathComponent("out")
            let client = try cluster.startClient(
                ["submit", "--server", "\(try #require(cluster.serverAddress))", "--pipeline", Self.pipeline,
                 "--output", "out", "--json", "in"],
                name: "client")
            try await ManagedProcess.waitUntil {
                ((try? FileManager.default.contentsOfDirectory(atPath: out.path))?.count ?? 0) > 5 || !client.process.isRunning
            }
            let hung = try #require(cluster.nodes["node-1"])
            try #require(client.process.isRunning, "the job ended before the node hung: nothing to observe")
            hung.signal(SIGSTOP)
            let status = try await client.waitForExit(timeout: .seconds(60))
            #expect(status == 0, "dip-client: \(client.errors)")
            let receipt = try client.receipt()
            #expect(receipt.status == .succeeded)
            #expect(receipt.counts.succeeded == images.count)
            // Tasks taken back from the hung node say why in the receipt.
            #expect(receipt.tasks.contains { task in
                task.lostAttempts.contains { $0.contains("node 'node-1'") && $0.contains("missed 3 health checks") }
            }, "\(receipt.tasks.flatMap(\.lostAttempts))")
            // Wake the node: whatever it was writing lands atomically, with identical bytes.
            hung.signal(SIGCONT)
            // Wait (bounded) until the woken node holds no task: its late writes are done.
            let deadline = ContinuousClock.now + .seconds(20)
            while (try? await cluster.activeTasks(of: "node-1")) != 0 {
                guard ContinuousClock.now < deadline else { throw TestFailure("node-1 still holds tasks 20 s after SIGCONT") }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(try cluster.expectOutputsMatchReference(receipt, pipeline: Self.pipeline).isEmpty)
            #expect(cluster.temporaryFiles(in: "out").isEmpty, "left: \(cluster.temporaryFiles(in: "out"))")
        }
    }

    @Test("SIGTERM drains a node mid-job: the job succeeds and the node exits 0")
    func nodeDrained() async throws {
        try await withFaultCluster { cluster in
            try await cluster.startServer(["--heartbeat-interval", "0.5"])
            for index in 1...3 {
                try await cluster.startNode(
                    "node-\(index)", ["--load", "1", "--delay", "0.2", "--max-concurrent", "2", "--seed", "\(index)"])
            }
            try await cluster.waitForNodes(3)
            // About 4 s of work for 6 slots, so the drain (at most one 0.2 s delay) happens inside the job.
            let images = try cluster.makeImages(120, in: "in")
            let out = cluster.root.appendingPathComponent("out")
            let client = try cluster.startClient(
                ["submit", "--server", "\(try #require(cluster.serverAddress))", "--pipeline", Self.pipeline,
                 "--output", "out", "--json", "in"],
                name: "client")
            try await ManagedProcess.waitUntil {
                ((try? FileManager.default.contentsOfDirectory(atPath: out.path))?.count ?? 0) > 10 || !client.process.isRunning
            }
            let drained = try #require(cluster.nodes["node-3"])
            try #require(client.process.isRunning, "the job ended before the drain: nothing to observe")
            drained.signal(SIGTERM)
            let nodeStatus = try await drained.waitForExit(timeout: .seconds(20))
            #expect(nodeStatus == 0, "dip-node: \(drained.errors)")
            // The drain happened mid-job: the node was gone while the job still had tasks to place.
            try #require(client.process.isRunning, "the job ended before node-3 finished draining: the drain was not mid-job")
            let status = try await client.waitForExit(timeout: .seconds(60))
            #expect(status == 0, "dip-client: \(client.errors)")
            let receipt = try client.receipt()
            #expect(
                receipt.status == .succeeded && receipt.counts.succeeded == images.count,
                "\(receipt.tasks.compactMap(\.error).prefix(3))")
            #expect(receipt.tasks.contains { $0.node == NodeID("node-3") }, "node-3 took part before it drained")
            #expect(try cluster.expectOutputsMatchReference(receipt, pipeline: Self.pipeline).isEmpty)
        }
    }

    @Test("The server killed mid-job: the client says so and exits 3")
    func serverKilled() async throws {
        try await withFaultCluster { cluster in
            try await cluster.startServer()
            try await cluster.startNode("node-1", ["--load", "1", "--delay", "0.2", "--max-concurrent", "2"])
            try await cluster.waitForNodes(1)
            _ = try cluster.makeImages(40, in: "in")
            let out = cluster.root.appendingPathComponent("out")
            let client = try cluster.startClient(
                ["submit", "--server", "\(try #require(cluster.serverAddress))", "--pipeline", Self.pipeline, "--output", "out", "in"],
                name: "client")
            try await ManagedProcess.waitUntil {
                ((try? FileManager.default.contentsOfDirectory(atPath: out.path))?.count ?? 0) > 1 || !client.process.isRunning
            }
            try #require(cluster.server).signal(SIGKILL)
            let status = try await client.waitForExit(timeout: .seconds(20))
            #expect(status == 3, "dip-client: \(client.errors)")
            #expect(client.errors.contains("dip-server"), "\(client.errors)")
        }
    }

    @Test("SIGTERM on the server: running jobs finish within the grace period, new ones are refused, exit 0")
    func serverDrained() async throws {
        try await withFaultCluster { cluster in
            let server = try await cluster.startServer(["--shutdown-grace-period", "30"])
            try await cluster.startNode("node-1", ["--load", "1", "--delay", "0.2", "--max-concurrent", "2"])
            try await cluster.waitForNodes(1)
            // About 6 s of work: the drain starts well inside the job.
            let images = try cluster.makeImages(60, in: "in")
            _ = try cluster.makeImages(1, in: "late-in")
            let out = cluster.root.appendingPathComponent("out")
            let client = try cluster.startClient(
                ["submit", "--server", "\(server)", "--pipeline", Self.pipeline, "--output", "out", "--json", "in"], name: "client")
            try await ManagedProcess.waitUntil {
                ((try? FileManager.default.contentsOfDirectory(atPath: out.path))?.count ?? 0) > 2 || !client.process.isRunning
            }
            let serverProcess = try #require(cluster.server)
            try #require(client.process.isRunning, "the job ended before SIGTERM: nothing to observe")
            serverProcess.signal(SIGTERM)
            // Submit small jobs until one is refused (one that raced the signal is accepted and
            // runs): no sleep decides when the server has begun draining.
            var refused: ManagedProcess?
            for attempt in 0..<20 where refused == nil {
                let late = try cluster.startClient(
                    ["submit", "--server", "\(server)", "--output", "late-\(attempt)", "late-in"], name: "client-late-\(attempt)")
                let status = try await late.waitForExit()
                if status == 3 { refused = late } else { #expect(status == 0, "\(late.errors)") }
            }
            let late = try #require(refused, "no new job was refused after SIGTERM")
            #expect(late.errors.contains("shutting down"), "\(late.errors)")
            // The drain began while the first job ran: it is still running, and finishes.
            try #require(client.process.isRunning, "the job ended before the server refused new jobs: nothing was drained")
            #expect(try await client.waitForExit() == 0, "\(client.errors)")
            #expect(try client.receipt().counts.succeeded == images.count)
            #expect(try await serverProcess.waitForExit(timeout: .seconds(10)) == 0, "\(serverProcess.errors)")
        }
    }

    @Test("SIGTERM on the server past the grace period: the job stays in the state directory, the client is told, a restart finishes it")
    func serverGracePeriodPasses() async throws {
        try await withFaultCluster { cluster in
            let server = try await cluster.startServer(["--shutdown-grace-period", "0.3", "--heartbeat-interval", "0.5"])
            try await cluster.startNode("node-1", ["--load", "1", "--delay", "0.2", "--max-concurrent", "2"])
            try await cluster.waitForNodes(1)
            let images = try cluster.makeImages(40, in: "in")
            let out = cluster.root.appendingPathComponent("out")
            let client = try cluster.startClient(
                ["submit", "--server", "\(server)", "--pipeline", Self.pipeline, "--output", "out", "--json", "in"], name: "client")
            try await ManagedProcess.waitUntil {
                ((try? FileManager.default.contentsOfDirectory(atPath: out.path))?.count ?? 0) > 1 || !client.process.isRunning
            }
            let serverProcess = try #require(cluster.server)
            serverProcess.signal(SIGTERM)
            // 40 tasks of 0.2 s on 2 slots take 4 s: the 0.3 s grace period passes first.
            #expect(try await client.waitForExit(timeout: .seconds(15)) == 3, "\(client.errors)")
            #expect(client.errors.contains("resumes when the server starts again"), "\(client.errors)")
            #expect(try await serverProcess.waitForExit(timeout: .seconds(10)) == 0, "\(serverProcess.errors)")

            // The same state directory: the job resumes and ends as if nothing had happened.
            try await cluster.startServer(["--heartbeat-interval", "0.5"], listen: "\(server)")
            let jobs = try await GRPCJobSubmitter.withSubmitter(server: server) { try await $0.jobs() }
            let id = try #require(jobs.first?.id)
            #expect(jobs.count == 1 && (jobs.first?.succeeded ?? 0) < images.count, "\(jobs)")
            let wait = try cluster.startClient(["wait", "--server", "\(server)", "--json", "--quiet", id.rawValue], name: "wait")
            #expect(try await wait.waitForExit(timeout: .seconds(60)) == 0, "\(wait.errors)")
            let receipt = try JobReceipt.decodeJSON(Array(Data(wait.output.utf8)), source: "wait --json")
            #expect(receipt.status == .succeeded && receipt.counts.succeeded == images.count)
            #expect(try cluster.expectOutputsMatchReference(receipt, pipeline: Self.pipeline).isEmpty)
        }
    }

    @Test("Ctrl-C on the client cancels its job on the server: nothing new is placed, the job ends cancelled")
    func clientInterrupted() async throws {
        try await withFaultCluster { cluster in
            let server = try await cluster.startServer(["--log-level", "info"])
            try await cluster.startNode("node-1", ["--load", "1", "--delay", "0.1", "--max-concurrent", "2"])
            try await cluster.waitForNodes(1)
            let images = try cluster.makeImages(60, in: "in")
            let out = cluster.root.appendingPathComponent("out")
            let client = try cluster.startClient(
                ["submit", "--server", "\(server)", "--pipeline", Self.pipeline, "--output", "out", "in"], name: "client")
            func outputs() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []).filter { $0.hasSuffix(".png") } }
            try await ManagedProcess.waitUntil { outputs().count > 3 || !client.process.isRunning }
            client.signal(SIGINT)
            _ = try await client.waitForExit()
            let serverProcess = try #require(cluster.server)
            try await ManagedProcess.waitUntil(timeout: .seconds(10)) { serverProcess.errors.contains("status=cancelled") }
            // The job has ended on the server: it lists no running job, so nothing more can be
            // placed; once the node holds no task, every write is done.
            let deadline = ContinuousClock.now + .seconds(10)
            while true {
                let status = try await HealthClient.status(of: server)
                let active = try await cluster.activeTasks(of: "node-1")
                if status.jobs.isEmpty && active == 0 { break }
                guard ContinuousClock.now < deadline else {
                    throw TestFailure("after the cancel: \(status.jobs.count) jobs listed, node-1 holds \(active) tasks")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            let settled = outputs().count
            #expect(settled < images.count, "the cancel stopped the job before its end")
            let processor = try ImageProcessor(pipeline: Self.pipeline)
            for name in outputs() {
                let expected = try processor.encodedOutput(forInput: cluster.root.appendingPathComponent("in/\(name)").path, format: .png)
                #expect(try [UInt8](Data(contentsOf: out.appendingPathComponent(name))) == expected, "\(name) is not complete")
            }
        }
    }

    @Test("A hung server (SIGSTOP) mid-job: the client gives up after keepalive and --timeout, exit 3")
    func serverHung() async throws {
        try await withFaultCluster { cluster in
            let server = try await cluster.startServer()
            try await cluster.startNode("node-1", ["--load", "1", "--delay", "0.3", "--max-concurrent", "1"])
            try await cluster.waitForNodes(1)
            _ = try cluster.makeImages(200, in: "in")
            let out = cluster.root.appendingPathComponent("out")
            let client = try cluster.startClient(
                ["submit", "--server", "\(server)", "--timeout", "1", "--pipeline", Self.pipeline, "--output", "out", "in"],
                name: "client")
            try await ManagedProcess.waitUntil {
                ((try? FileManager.default.contentsOfDirectory(atPath: out.path))?.count ?? 0) > 1 || !client.process.isRunning
            }
            try #require(cluster.server).signal(SIGSTOP)
            let start = ContinuousClock.now
            #expect(try await client.waitForExit(timeout: .seconds(30)) == 3, "\(client.errors)")
            #expect(ContinuousClock.now - start < .seconds(25))
            #expect(client.errors.contains("dip-server"), "\(client.errors)")
        }
    }

    @Test("Corrupt, truncated, non-image and oversized files fail their own tasks; good ones succeed; nothing crashes")
    func badInputs() async throws {
        try await withFaultCluster { cluster in
            try await cluster.startServer()
            try await cluster.startNode("node-1", ["--load", "0", "--seed", "1"])
            try await cluster.startNode("node-2", ["--load", "0", "--seed", "2"])
            try await cluster.waitForNodes(2)
            let good = try cluster.makeImages(10, in: "in")
            let dir = cluster.root.appendingPathComponent("in")
            let sample = try Data(contentsOf: dir.appendingPathComponent(good[0]))
            var random = SeededRandomNumberGenerator(seed: 7)
            try Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) }).write(to: dir.appendingPathComponent("corrupt.png"))
            try sample.prefix(sample.count / 2).write(to: dir.appendingPathComponent("truncated.png"))
            try Data("just some text, not a JPEG".utf8).write(to: dir.appendingPathComponent("text.jpg"))
            try Data().write(to: dir.appendingPathComponent("empty.jpeg"))
            try Data(Self.oversizedPNG(width: 30_000, height: 30_000)).write(to: dir.appendingPathComponent("huge.png"))
            let bad = ["corrupt.png", "truncated.png", "text.jpg", "empty.jpeg", "huge.png"]

            let client = try cluster.startClient(
                ["submit", "--server", "\(try #require(cluster.serverAddress))", "--pipeline", Self.pipeline,
                 "--output", "out", "--json", "in"],
                name: "client")
            let status = try await client.waitForExit(timeout: .seconds(30))
            #expect(status == 1, "a failed task fails the job: \(client.errors)")
            let receipt = try client.receipt()
            #expect(receipt.counts.succeeded == good.count)
            #expect(receipt.counts.failed == bad.count)
            for name in bad {
                let task = try #require(receipt.tasks.first { $0.input == "in/\(name)" })
                #expect(task.status == .failed)
                #expect(task.error?.contains(name) == true, "\(name): \(task.error ?? "no reason")")
            }
            let huge = try #require(receipt.tasks.first { $0.input == "in/huge.png" })
            #expect(huge.error?.contains("pixels") == true || huge.error?.contains("limit") == true, "\(huge.error ?? "")")
            #expect(try cluster.expectOutputsMatchReference(receipt, pipeline: Self.pipeline).isEmpty)
            for process in cluster.processes where process.name != "client" {
                #expect(process.process.isRunning, "\(process.name) died: \(process.errors)")
            }
        }
    }

    @Test("Paths that escape the storage root are refused: '..', absolute, a symlinked directory, a symlinked file")
    func pathEscapes() async throws {
        try await withFaultCluster { cluster in
            try await cluster.startServer()
            try await cluster.startNode("node-1", ["--load", "0"])
            try await cluster.waitForNodes(1)
            let server = try #require(cluster.serverAddress)
            let outside = FileManager.default.temporaryDirectory.appendingPathComponent("dip-outside-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: outside) }
            let secret = try cluster.makeImages(1, in: "in")[0]
            try FileManager.default.moveItem(
                at: cluster.root.appendingPathComponent("in/\(secret)"), to: outside.appendingPathComponent(secret))
            try FileManager.default.createSymbolicLink(
                at: cluster.root.appendingPathComponent("link-dir"), withDestinationURL: outside)
            try FileManager.default.createSymbolicLink(
                at: cluster.root.appendingPathComponent("in/escape.png"), withDestinationURL: outside.appendingPathComponent(secret))

            for (index, input) in ["../\(outside.lastPathComponent)", outside.path, "link-dir", "in/../../etc"].enumerated() {
                let client = try cluster.startClient(["submit", "--server", "\(server)", input], name: "client-\(index)")
                let status = try await client.waitForExit()
                #expect(status == 2, "\(input): \(client.errors)")
                #expect(client.errors.contains("outside"), "\(input): \(client.errors)")
            }
            let output = try cluster.startClient(
                ["submit", "--server", "\(server)", "--output", "../escaped-out", "in"], name: "client-output")
            #expect(try await output.waitForExit() == 2, "\(output.errors)")

            let client = try cluster.startClient(
                ["submit", "--server", "\(server)", "--pipeline", Self.pipeline, "--json", "in"], name: "client-file")
            #expect(try await client.waitForExit() == 1)
            let task = try #require(try client.receipt().tasks.first { $0.input == "in/escape.png" })
            #expect(task.status == .failed && task.error?.contains("outside") == true, "\(task.error ?? "")")
        }
    }

    @Test("Configured limits: pixels and file size fail their task before decoding; too many images refuse the job")
    func configuredLimits() async throws {
        try await withFaultCluster { cluster in
            let server = try await cluster.startServer(["--max-images", "4"])
            try await cluster.startNode("node-1", ["--load", "0", "--max-pixels", "100000", "--max-file-bytes", "200000"])
            try await cluster.waitForNodes(1)
            _ = try cluster.makeImages(2, in: "in")
            let dir = cluster.root.appendingPathComponent("in")
            // Over the pixel limit, a few hundred bytes.
            let wide = try Image(width: 400, height: 300, channels: 1, repeating: 9)
            try Data(ImageCodec.default.encode(wide, as: .png)).write(to: dir.appendingPathComponent("wide.png"))
            // A valid PNG within the pixel limit (90 000 pixels) but over the file limit: noise
            // does not compress. Only the file-size check can fail it.
            var random = SeededRandomNumberGenerator(seed: 11)
            let noise = try Image(
                width: 300, height: 300, channels: 3, pixels: (0..<(300 * 300 * 3)).map { _ in UInt8.random(in: 0...255, using: &random) })
            let bigBytes = try ImageCodec.default.encode(noise, as: .png)
            try #require(bigBytes.count > 200_000, "the noise PNG is only \(bigBytes.count) bytes")
            #expect(try ImageCodec.default.decode(bigBytes, name: "big.png").width == 300, "big.png is a valid image")
            try Data(bigBytes).write(to: dir.appendingPathComponent("big.png"))
            let client = try cluster.startClient(
                ["submit", "--server", "\(server)", "--pipeline", Self.pipeline, "--json", "in"], name: "client")
            #expect(try await client.waitForExit() == 1, "\(client.errors)")
            let receipt = try client.receipt()
            #expect(receipt.counts.succeeded == 2)
            let wideTask = try #require(receipt.tasks.first { $0.input == "in/wide.png" })
            #expect(wideTask.status == .failed)
            #expect(wideTask.error?.contains("pixels exceeds the limit of 100000 pixels") == true, "\(wideTask.error ?? "")")
            let bigTask = try #require(receipt.tasks.first { $0.input == "in/big.png" })
            #expect(bigTask.status == .failed)
            // fileTooLarge's message (the receipt carries the message, not the code).
            #expect(
                bigTask.error?.contains("file of \(bigBytes.count) bytes exceeds the limit of 200000 bytes") == true,
                "\(bigTask.error ?? "")")
            #expect(bigTask.error?.contains("big.png") == true, "\(bigTask.error ?? "")")

            _ = try cluster.makeImages(5, in: "many")
            let many = try cluster.startClient(["submit", "--server", "\(server)", "many"], name: "client-many")
            #expect(try await many.waitForExit() == 2, "\(many.errors)")
            #expect(many.errors.contains("limit of 4"), "\(many.errors)")
        }
    }

    /// A PNG whose header declares `width`×`height` (valid CRCs) with a token of image data.
    static func oversizedPNG(width: UInt32, height: UInt32) -> [UInt8] {
        func bigEndian(_ value: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) } }
        func chunk(_ kind: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(kind.utf8) + data
            return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
        }
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            + chunk("IHDR", bigEndian(width) + bigEndian(height) + [8, 2, 0, 0, 0])
            + chunk("IDAT", [0x78, 0x9C, 0x03, 0x00]) + chunk("IEND", [])
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0xEDB8_8320 : 0) }
        }
        return ~crc
    }
}
