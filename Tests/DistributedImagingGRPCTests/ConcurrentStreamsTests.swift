import DistributedImaging
@testable import DistributedImagingGRPC
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Synchronization
import Testing

/// The server announces HTTP/2 MAX_CONCURRENT_STREAMS, so a client with many calls on one
/// connection waits instead of having the connection closed (GOAWAY PROTOCOL_ERROR).
@Suite("Concurrent streams on one connection", .timeLimit(.minutes(1)))
struct ConcurrentStreamsTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A job service whose jobs wait until `gate` jobs are in flight (or `patience` passed), and
    /// that records the most jobs in flight at once.
    final class GatedSubmitter: JobSubmitter {
        let gate: Int
        let patience: Duration
        let inFlight = Atomic<Int>(0)
        let peak = Atomic<Int>(0)
        let gateOpened = Atomic<Bool>(false)

        var peakValue: Int { self.peak.load(ordering: .relaxed) }
        var gateOpenedValue: Bool { self.gateOpened.load(ordering: .relaxed) }

        init(gate: Int, patience: Duration) {
            self.gate = gate
            self.patience = patience
        }

        func submit(_ request: JobRequest, onEvent: @escaping @Sendable (JobEvent) async -> Void) async throws -> JobReceipt {
            let now = self.inFlight.add(1, ordering: .relaxed).newValue
            defer { self.inFlight.subtract(1, ordering: .relaxed) }
            var peak = self.peak.load(ordering: .relaxed)
            while now > peak {
                let (exchanged, original) = self.peak.compareExchange(expected: peak, desired: now, ordering: .relaxed)
                if exchanged { break }
                peak = original
            }
            if now >= self.gate { self.gateOpened.store(true, ordering: .relaxed) }
            let deadline = ContinuousClock.now + self.patience
            while !self.gateOpened.load(ordering: .relaxed), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            let receipt = JobReceipt(
                jobID: JobID("concurrent"), status: .succeeded, input: request.inputDirectory, output: "out", pipeline: "invert",
                tasks: [], elapsed: 0, message: "input directory has no images: 0 tasks")
            await onEvent(.started(jobID: receipt.jobID, tasks: 0, skipped: 0))
            await onEvent(.finished(receipt))
            return receipt
        }
    }

    /// Submits `count` jobs at once on one client connection; returns the status of each call.
    func submitAll(count: Int, to address: PeerAddress) async throws -> [RPCError.Code?] {
        try await withGRPCClient(
            transport: try HTTP2ClientTransport.Posix(target: address.target, transportSecurity: .plaintext)
        ) { client in
            let service = Dip_V1_JobService.Client(wrapping: client)
            return await withTaskGroup(of: RPCError.Code?.self) { group in
                for index in 0..<count {
                    group.addTask {
                        do {
                            try await service.submitJob(
                                .with {
                                    $0.protocolVersion = .protocolVersion1
                                    $0.job.inputDirectory = "empty-\(index)"
                                }
                            ) { response in
                                var finished = false
                                for try await message in response.messages {
                                    if case .finished = message.event.event { finished = true }
                                }
                                if !finished { throw RPCError(code: .dataLoss, message: "no receipt") }
                            }
                            return nil
                        } catch let error as RPCError {
                            return error.code
                        } catch {
                            return .unknown
                        }
                    }
                }
                var codes: [RPCError.Code?] = []
                for await code in group { codes.append(code) }
                return codes
            }
        }
    }

    @Test("200 concurrent submits with the default limit: more than 100 in flight at once, none cut off")
    func defaultLimit() async throws {
        let submitter = GatedSubmitter(gate: 150, patience: .seconds(15))
        let codes = try await withEndpoint([JobServiceProvider(submitter: submitter, logger: self.logger)]) { address in
            try await self.submitAll(count: 200, to: address)
        }
        #expect(codes.count == 200)
        let failures = codes.compactMap { $0 }
        #expect(failures.allSatisfy { $0 == .resourceExhausted }, "\(failures)")
        #expect(failures.isEmpty, "\(failures.count) failed: \(Set(failures.map { "\($0)" }))")
        // More than NIO's unannounced limit of 100 were open at once: the case that used to fail.
        #expect(submitter.peakValue > 100)
        #expect(submitter.gateOpenedValue)
    }

    @Test("200 concurrent submits over a limit of 16: the client waits, at most 16 run at once, all succeed")
    func smallLimit() async throws {
        let submitter = GatedSubmitter(gate: 16, patience: .seconds(15))
        let endpoint = GRPCEndpoint(
            listen: PeerAddress(host: "127.0.0.1", port: 0),
            services: [JobServiceProvider(submitter: submitter, logger: self.logger)], maxConcurrentStreams: 16)
        let codes = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await endpoint.run() }
            defer { endpoint.beginGracefulShutdown() }
            let address = try await endpoint.listeningAddress
            let codes = try await self.submitAll(count: 200, to: address)
            endpoint.beginGracefulShutdown()
            try await group.waitForAll()
            return codes
        }
        #expect(codes.count == 200)
        #expect(codes.compactMap { $0 }.isEmpty, "\(codes.compactMap { $0 })")
        #expect(submitter.peakValue <= 16)
        #expect(submitter.peakValue == 16)
    }

    @Test("The limit is configurable and checked")
    func settings() throws {
        var server = ServerSettings(listen: "127.0.0.1:0", storageRoot: "/tmp")
        #expect(server.maxConcurrentStreams == 256)
        server.maxConcurrentStreams = 0
        let error = #expect(throws: DistributedImagingError.self) { try server.validate() }
        #expect(error?.message.contains("server.maxConcurrentStreams (--max-concurrent-streams)") == true)
        var node = NodeSettings(name: "n", listen: "127.0.0.1:0", storageRoot: "/tmp")
        node.maxConcurrentStreams = 100_001
        let nodeError = #expect(throws: DistributedImagingError.self) { try node.validate() }
        #expect(nodeError?.message.contains("node.maxConcurrentStreams") == true)
    }
}
