import DistributedImaging
import Testing

extension TransportConformance {
    func tasksArriveUnchanged() async throws {
        let executor = RecordingExecutor("conformance-node")
        let receipts = try await self.transport.withNodes([executor]) { nodes in
            let connection = try #require(nodes.connections.first)
            var receipts: [TaskReceipt] = []
            for task in SampleTasks.varied { receipts.append(try await connection.run(task)) }
            return receipts
        }
        #expect(executor.calls == SampleTasks.varied, "the node must see each request as sent, every field included")
        #expect(receipts == SampleTasks.varied.map { RecordingExecutor.answer($0, node: executor.node) },
                "the caller must see each receipt as the node sent it, every field included")
    }

    func answersArriveAsReceipts(_ status: TaskStatus) async throws {
        let input = status == .rejected ? "in/reject-this.png" : "in/fail-this.png"
        let task = TaskRequest(
            jobID: JobID("job-answers"), taskIndex: 3, inputPath: input, outputPath: "out/this.png", pipeline: "invert",
            attempt: 2)
        let executor = RecordingExecutor("answering-node")
        let receipt = try await self.transport.withNodes([executor]) { nodes in
            try await #require(nodes.connections.first).run(task)
        }
        let expected = RecordingExecutor.answer(task, node: executor.node)
        #expect(receipt == expected, "a \(status) answer must come back as the node's receipt, not as an error")
        #expect(receipt.status == status)
        #expect(receipt.error == expected.error, "the node's reason must arrive unchanged")
    }

    func eachConnectionReachesItsNode() async throws {
        let executors = ["node-a", "node-b", "node-c"].map { RecordingExecutor($0) }
        let receipts = try await self.transport.withNodes(executors) { nodes in
            #expect(nodes.connections.map(\.node) == executors.map(\.node), "one connection per executor, in order")
            var receipts: [TaskReceipt] = []
            for (index, connection) in nodes.connections.enumerated() {
                receipts.append(try await connection.run(SampleTasks.plain(index, input: "\(connection.node)")))
            }
            return receipts
        }
        #expect(receipts.map(\.node) == executors.map(\.node))
        for (index, executor) in executors.enumerated() {
            #expect(executor.calls == [SampleTasks.plain(index, input: "\(executor.node)")], "node \(executor.node)")
        }
    }

    func concurrentCalls() async throws {
        let executor = RecordingExecutor("busy-node")
        let count = 32
        let receipts = try await self.transport.withNodes([executor]) { nodes in
            let connection = try #require(nodes.connections.first)
            return try await withThrowingTaskGroup(of: TaskReceipt.self) { group in
                for index in 0..<count { group.addTask { try await connection.run(SampleTasks.plain(index)) } }
                return try await group.reduce(into: [TaskReceipt]()) { $0.append($1) }
            }
        }
        #expect(receipts.sorted { $0.taskIndex < $1.taskIndex } == (0..<count).map {
            RecordingExecutor.answer(SampleTasks.plain($0), node: executor.node)
        })
        #expect(executor.calls.map(\.taskIndex).sorted() == Array(0..<count), "each call reaches the node once")
    }

    func unreachableNode() async throws {
        let up = RecordingExecutor("node-up")
        let down = RecordingExecutor("node-down")
        try await self.transport.withNodes([up, down]) { nodes in
            try #require(nodes.connections.count == 2)
            let before = try await nodes.connections[1].run(SampleTasks.plain(0))
            #expect(before.status == .succeeded, "the node answers before it is cut off")
            try await nodes.cutOff(down.node)
            let error = await #expect(throws: DistributedImagingError.self, "a call to a node that was cut off must throw") {
                try await nodes.connections[1].run(SampleTasks.plain(1))
            }
            #expect(error?.code == .unavailable, "an unreachable node is `unavailable` (got \(String(describing: error)))")
            #expect(error?.message.isEmpty == false, "the error says why")
            let other = try await nodes.connections[0].run(SampleTasks.plain(2))
            #expect(other == RecordingExecutor.answer(SampleTasks.plain(2), node: up.node), "the other node still answers")
        }
        #expect(down.calls == [SampleTasks.plain(0)], "no task reaches a node that was cut off")
    }

    func deadline() async throws {
        let clock = ContinuousClock()
        let deadline = Duration.milliseconds(50)
        // Answers `failed` once the task's deadline passed, as a node does; a task without one
        // succeeds at once.
        let executor = RecordingExecutor("deadline-node") { task, node in
            guard let runTimeout = task.runTimeout else { return RecordingExecutor.answer(task, node: node) }
            let start = clock.now
            try? await clock.sleep(until: start + runTimeout)
            return TaskReceipt(for: task, status: .failed, node: node, elapsed: 0.05, error: "ran past its deadline of \(runTimeout)")
        }
        var timed = SampleTasks.plain(1, job: "job-deadline")
        timed.runTimeout = deadline
        let untimed = SampleTasks.plain(2, job: "job-deadline")
        let (late, early) = try await self.transport.withNodes([executor]) { nodes in
            let connection = try #require(nodes.connections.first)
            return (try await connection.run(timed), try await connection.run(untimed))
        }
        #expect(executor.calls.map(\.runTimeout) == [deadline, nil], "the deadline (or its absence) reaches the node")
        #expect(
            late == TaskReceipt(for: timed, status: .failed, node: executor.node, elapsed: 0.05, error: "ran past its deadline of \(deadline)"),
            "the node's answer past the deadline comes back")
        #expect(early == RecordingExecutor.answer(untimed, node: executor.node))
    }

    func cancellingACall() async throws {
        let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
        let (ended, endedContinuation) = AsyncStream.makeStream(of: Bool.self)
        // Waits to be cancelled; the 20 s bound is reached only by a transport that does not
        // pass the cancellation on.
        let executor = RecordingExecutor("cancelled-node") { task, node in
            startedContinuation.yield()
            do {
                try await Task.sleep(for: .seconds(20))
                endedContinuation.yield(false)
                return TaskReceipt(for: task, status: .succeeded, node: node)
            } catch {
                endedContinuation.yield(true)
                return TaskReceipt(for: task, status: .rejected, node: node, error: "task cancelled")
            }
        }
        let task = SampleTasks.plain(0, job: "job-cancelled")
        try await self.transport.withNodes([executor]) { nodes in
            let connection = try #require(nodes.connections.first)
            let outcome = await withTaskGroup(of: Result<TaskReceipt, any Error>?.self) { group in
                group.addTask {
                    defer { startedContinuation.finish() }  // ends the wait below if the node never got the call
                    do {
                        return .success(try await connection.run(task))
                    } catch {
                        return .failure(error)
                    }
                }
                for await _ in started { break }
                group.cancelAll()
                return await group.next() ?? nil
            }
            guard !executor.calls.isEmpty else {
                Issue.record("the call ended before it reached the node: \(String(describing: outcome))")
                return
            }
            var cancelled: Bool?
            for await value in ended {
                cancelled = value
                break
            }
            #expect(cancelled == true, "the node's work must be cancelled with the call")
            switch outcome {
            case .success(let receipt):
                #expect(receipt.status != .succeeded, "a cancelled call may return the node's answer to the cancellation, not a success")
            case .failure:
                break  // Throwing (CancellationError, or `cancelled`) is how most transports end a cancelled call.
            case nil:
                Issue.record("the cancelled call did not end")
            }
        }
        #expect(executor.calls == [task])
    }
}
