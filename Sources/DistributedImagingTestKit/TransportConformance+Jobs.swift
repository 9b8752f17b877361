import DistributedImaging
import Synchronization
import Testing

extension TransportConformance {
    func jobEvents() async throws {
        let requests = [
            ScriptedServer.runningRequest,
            JobRequest(inputDirectory: "photos"),
            JobRequest(inputDirectory: "in/ü b", outputFormat: .png(compressionLevel: 0)),
        ]
        let server = ScriptedServer()
        for request in requests {
            let log = Mutex<[JobEvent]>([])
            let receipt = try await self.transport.withSubmitter(serving: server) { client in
                try await client.submit(request) { event in log.withLock { $0.append(event) } }
            }
            let events = log.withLock { $0 }
            let expected = ScriptedServer.receipt(for: request)
            #expect(events == ScriptedServer.events(for: request), "every event arrives, unchanged and in order")
            #expect(events.first == .started(jobID: expected.jobID, tasks: 3, skipped: 1), "`started` comes first, with the job's id")
            #expect(events.last == .finished(receipt), "`finished` comes last, with the receipt the call returns")
            #expect(receipt == expected, "a failed job returns its receipt unchanged, not an error")
        }
        #expect(server.requests == requests, "each request reaches the server unchanged, defaults included")
    }

    func refusedJob() async throws {
        let server = ScriptedServer()
        for (index, refusal) in ScriptedServer.refusals.enumerated() {
            let request = JobRequest(inputDirectory: "refused/\(index)")
            let error = await #expect(throws: DistributedImagingError.self, "a refused job throws (\(refusal.code))") {
                try await self.transport.withSubmitter(serving: server) { try await $0.submit(request) }
            }
            #expect(error?.code == refusal.code, "the server's code arrives unchanged")
            #expect(error?.message == refusal.message, "the server's message arrives unchanged")
        }
    }

    func cancellingASubmission() async throws {
        let server = ScriptedServer()
        let request = JobRequest(inputDirectory: ScriptedServer.heldInput)
        let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
        let ended = try await self.transport.withSubmitter(serving: server) { client in
            await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    defer { startedContinuation.finish() }
                    _ = try? await client.submit(request) { event in
                        if case .started = event { startedContinuation.yield() }
                    }
                    return true
                }
                for await _ in started { break }
                group.cancelAll()
                return await group.next() ?? false
            }
        }
        #expect(ended, "the cancelled submission ended")
        guard server.requests == [request] else {
            Issue.record("the submission did not reach the server: \(server.requests)")
            return
        }
        var cancelled: Bool?
        for await value in server.heldEnded {
            cancelled = value
            break
        }
        #expect(cancelled == true, "cancelling the caller must cancel the job on the server")
    }

    func jobRecords() async throws {
        let server = ScriptedServer()
        try await self.transport.withSubmitter(serving: server) { client in
            let id = try await client.start(ScriptedServer.runningRequest)
            #expect(id == ScriptedServer.startedID, "`start` returns the server's id")
            #expect(server.requests == [ScriptedServer.runningRequest], "the started request reaches the server unchanged")

            let refused = await #expect(throws: DistributedImagingError.self) {
                try await client.start(JobRequest(inputDirectory: "refused/1"))
            }
            #expect(refused?.code == ScriptedServer.refusals[1].code && refused?.message == ScriptedServer.refusals[1].message)

            #expect(try await client.jobs() == ScriptedServer.records, "records arrive unchanged, dates and requests included")

            var watched: [JobEvent] = []
            for try await event in try await client.watch(ScriptedServer.records[0].id) { watched.append(event) }
            #expect(watched == ScriptedServer.watchedEvents, "a watcher gets the snapshot, then every event to `finished`")

            let unknown = JobID("job-nobody-started")
            let missing = await #expect(throws: DistributedImagingError.self, "watching an unknown job throws") {
                // From `watch` or from the stream: either is how a transport may report it.
                for try await _ in try await client.watch(unknown) {}
            }
            #expect(missing?.code == .notFound, "`notFound` arrives")
            #expect(missing?.message == ScriptedServer.unknown(unknown).message, "with the server's message")

            #expect(try await client.cancel(ScriptedServer.records[0].id) == ScriptedServer.cancelledRecord)
            let ended = await #expect(throws: DistributedImagingError.self) { try await client.cancel(ScriptedServer.records[1].id) }
            #expect(ended?.code == .invalidArgument, "cancelling an ended job keeps the server's code")
            let gone = await #expect(throws: DistributedImagingError.self) { try await client.cancel(unknown) }
            #expect(gone?.code == .notFound && gone?.message == ScriptedServer.unknown(unknown).message)
        }
    }
}
