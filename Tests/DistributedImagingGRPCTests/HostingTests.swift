import DistributedImaging
import DistributedImagingGRPC
import Foundation
import Logging
import Testing

/// The real roles (`ImagingServer`, `ImagingNode`) wired by the hosts over gRPC loopback, in one
/// process: static nodes, registered nodes, and the same receipt as the embedded cluster.
@Suite("Hosts over gRPC", .timeLimit(.minutes(1)))
struct HostingTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A storage root with `photos/` holding three corpus images.
    func withStorage(_ body: (String) async throws -> Void) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dip-hosts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("photos"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        for image in ["camera.png", "coins.png", "grace_hopper.jpg"] {
            try FileManager.default.copyItem(
                at: EndToEndTests.corpus.appendingPathComponent("photos/\(image)"),
                to: root.appendingPathComponent("photos/\(image)"))
        }
        try await body(root.path)
    }

    @Test("A static node and a registered node both take tasks", arguments: [false, true])
    func job(registered: Bool) async throws {
        try await self.withStorage { root in
            let nodeSettings = NodeSettings(name: "n1", listen: "127.0.0.1:0", storageRoot: root, delay: 0)
            let node = try ImagingNode(
                configuration: try nodeSettings.nodeConfiguration(), storage: try nodeSettings.storage(), logger: self.logger)
            let nodeHost = try GRPCNodeHost(settings: nodeSettings, executor: node, logger: self.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await nodeHost.endpoint.run() }
                defer { nodeHost.endpoint.beginGracefulShutdown() }
                let nodeAddress = try await nodeHost.endpoint.listeningAddress

                var serverSettings = ServerSettings(listen: "127.0.0.1:0", storageRoot: root, seed: 1)
                if !registered { serverSettings.nodes = [.init(name: "n1", address: "\(nodeAddress)")] }
                let serverHost = try GRPCServerHost(settings: serverSettings, logger: self.logger)
                group.addTask { try await serverHost.membership.run() }
                group.addTask { try await serverHost.endpoint.run() }
                defer {
                    serverHost.endpoint.beginGracefulShutdown()
                    serverHost.membership.beginGracefulShutdown()
                }
                let serverAddress = try await serverHost.endpoint.listeningAddress
                let problems = await serverHost.checkStaticNodes()
                #expect(problems.isEmpty, "\(problems)")

                if registered {
                    let registrar = try NodeRegistrar(server: serverAddress, logger: self.logger) {
                        NodeAdvertisement(name: node.node, address: "\(nodeAddress)", policy: .mandatory)
                    }
                    try await withThrowingDiscardingTaskGroup { inner in
                        inner.addTask { try await registrar.runConnections() }
                        defer { registrar.close() }
                        _ = try await registrar.register()
                    }
                }
                let status = try await HealthClient.status(of: serverAddress)
                #expect(status.nodes.map(\.name) == [NodeID("n1")])
                #expect(status.nodes.first?.source == (registered ? .registered : .static))

                let receipt = try await GRPCJobSubmitter.withSubmitter(server: serverAddress) {
                    try await $0.submit(JobRequest(inputDirectory: "photos", pipeline: "invert"))
                }
                #expect(receipt.status == .succeeded, "\(receipt.message)")
                #expect(receipt.counts.succeeded == 3)
                #expect(receipt.tasks.allSatisfy { $0.node == NodeID("n1") })
                for task in receipt.tasks {
                    let output = try #require(task.output)
                    #expect(FileManager.default.fileExists(atPath: "\(root)/\(output)"))
                }

                // The same job in one process gives the same receipt, timings aside.
                let cluster = try LocalCluster(
                    storageRoot: root, nodes: [try nodeSettings.nodeConfiguration()], seed: 1, logger: self.logger)
                let local = try await cluster.submit(JobRequest(inputDirectory: "photos", outputDirectory: "local", pipeline: "invert"))
                #expect(local.tasks.map(\.status) == receipt.tasks.map(\.status))
                #expect(local.tasks.map(\.input) == receipt.tasks.map(\.input))
            }
        }
    }

    @Test("No nodes: the job is refused as unavailable")
    func noNodes() async throws {
        try await self.withStorage { root in
            let serverHost = try GRPCServerHost(
                settings: ServerSettings(listen: "127.0.0.1:0", storageRoot: root), logger: self.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await serverHost.membership.run() }
                group.addTask { try await serverHost.endpoint.run() }
                defer {
                    serverHost.endpoint.beginGracefulShutdown()
                    serverHost.membership.beginGracefulShutdown()
                }
                let address = try await serverHost.endpoint.listeningAddress
                let error = await #expect(throws: DistributedImagingError.self) {
                    try await GRPCJobSubmitter.withSubmitter(server: address) {
                        try await $0.submit(JobRequest(inputDirectory: "photos", pipeline: "invert"))
                    }
                }
                #expect(error?.code == .unavailable)
                #expect(error?.message.contains("no nodes") == true)
            }
        }
    }
}
