import DistributedImaging
import DistributedImagingTestKit
import Testing

/// The conformance kit over gRPC: what the server and client see must not depend on how they
/// reach each other. (The in-process transport runs the same kit in `DistributedImagingTests`.)
@Suite("Transport conformance: gRPC", .timeLimit(.minutes(1)))
struct TransportConformanceTests {
    @Test("gRPC", arguments: TransportConformance.Check.allCases)
    func grpc(_ check: TransportConformance.Check) async throws {
        try await TransportConformance(GRPCUnderTest()).run(check)
    }

    @Test("gRPC, tasks over the nodes' task ports", arguments: TransportConformance.Check.allCases)
    func taskPorts(_ check: TransportConformance.Check) async throws {
        try await TransportConformance(GRPCUnderTest(taskPorts: true)).run(check)
    }

    /// A task the other gRPC tests send.
    static let tasks: [TaskRequest] = [
        TaskRequest(
            jobID: JobID("job-1"), taskIndex: 0, inputPath: "photos/a.png", outputPath: "photos-out/a.png",
            pipeline: "grayscale")
    ]
}
