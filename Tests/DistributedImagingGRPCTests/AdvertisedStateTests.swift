import DistributedImaging
import DistributedImagingGRPC
import Foundation
import Logging
import Testing

/// Nodes advertise their policy, load (and its mode), busy slots and queue in their
/// registration and heartbeats over gRPC; the server's membership turns them into the
/// `NodeState` the load-aware placements read, and status shows them.
@Suite("Advertised node state over gRPC", .serialized, .timeLimit(.minutes(1)))
struct AdvertisedStateTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test("a registered node's load reaches the server's directory, status and placement", arguments: ["p2c", "least-loaded"])
    func advertised(placement: String) async throws {
        try await HostingTests().withStorage { root in
            var serverSettings = ServerSettings(listen: "127.0.0.1:0", storageRoot: root, seed: 3)
            serverSettings.placement = placement
            let serverHost = try GRPCServerHost(settings: serverSettings, logger: self.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await serverHost.membership.run() }
                group.addTask { try await serverHost.endpoint.run() }
                defer {
                    serverHost.endpoint.beginGracefulShutdown()
                    serverHost.membership.beginGracefulShutdown()
                }
                let serverAddress = try await serverHost.endpoint.listeningAddress

                // "busy": Optional at a fixed load of 1 (rejects every task); "idle": load 0.
                var nodes: [(ImagingNode, GRPCNodeHost)] = []
                for (name, load) in [("busy", 1.0), ("idle", 0.0)] {
                    var settings = NodeSettings(
                        name: name, listen: "127.0.0.1:0", server: "\(serverAddress)", storageRoot: root, policy: .optional,
                        load: load, delay: 0, maxConcurrentTasks: 3)
                    settings.seed = 5
                    let node = try ImagingNode(
                        configuration: try settings.nodeConfiguration(), storage: try settings.storage(), logger: self.logger)
                    let host = try GRPCNodeHost(
                        settings: settings, executor: node, activeTasks: { node.activeTasks }, state: { node.advertisedState },
                        logger: self.logger)
                    group.addTask { try await host.endpoint.run() }
                    let registrar = try #require(host.registrar)
                    group.addTask { try await registrar.runConnections() }
                    _ = try await host.endpoint.listeningAddress
                    nodes.append((node, host))
                }
                defer {
                    for (_, host) in nodes {
                        host.registrar?.close()
                        host.endpoint.beginGracefulShutdown()
                    }
                }
                for (_, host) in nodes { _ = try await host.registrar?.register() }

                // The directory: each gRPC connection reports what its node advertised.
                let states = Dictionary(
                    uniqueKeysWithValues: serverHost.membership.connections().map { ($0.node.rawValue, $0.advertisedState) })
                let busy = try #require(states["busy"] ?? nil, "the busy node's connection reports no state")
                #expect(busy == NodeState(policy: .optional, load: 1, loadMode: .fixed, slots: 3, busySlots: 0, queueLength: 0))
                #expect(busy.rejectsEverything)
                let idle = try #require(states["idle"] ?? nil)
                #expect(idle.load == 0 && idle.loadMode == .fixed && idle.slots == 3)

                // Status shows them per node.
                let status = try await HealthClient.status(of: serverAddress)
                let listed = Dictionary(uniqueKeysWithValues: status.nodes.map { ($0.name.rawValue, $0) })
                #expect(listed["busy"]?.load == 1 && listed["busy"]?.loadMode == .fixed && listed["busy"]?.queuedTasks == 0)
                let rows = status.table.split(separator: "\n").map(String.init)
                #expect(rows.contains { $0.hasPrefix("busy ") && $0.contains(" 1.00 ") && $0.contains(" 0/3 ") }, "\(status.table)")

                // The placement sees the states: every task goes to "idle" at its first attempt
                // (random placement would offer about half of them to "busy" first).
                let receipt = try await GRPCJobSubmitter.withSubmitter(server: serverAddress) {
                    try await $0.submit(JobRequest(inputDirectory: "photos", pipeline: "invert"))
                }
                #expect(receipt.status == .succeeded, "\(receipt.message)")
                #expect(receipt.tasks.allSatisfy { $0.node == NodeID("idle") && $0.rejections == 0 }, "\(receipt.tasks)")

                // A heartbeat carries a change: "idle" switches to auto and registers again.
                try nodes[1].0.setLoad(.auto)
                _ = try await nodes[1].1.registrar?.register()
                let again = serverHost.membership.connections().first { $0.node == NodeID("idle") }?.advertisedState
                #expect(again?.loadMode == .auto)
                #expect(again.map { (0...1).contains($0.load) } == true)
                let table = try await HealthClient.status(of: serverAddress).table
                #expect(table.split(separator: "\n").contains { $0.hasPrefix("idle ") && $0.contains(" auto ") }, "\(table)")
            }
        }
    }

    @Test("a configured node that never registers advertises its state through the server's health checks")
    func staticNode() async throws {
        try await HostingTests().withStorage { root in
            let settings = NodeSettings(
                name: "s1", listen: "127.0.0.1:0", storageRoot: root, policy: .optional, load: 0.4, delay: 0, maxConcurrentTasks: 2)
            let node = try ImagingNode(
                configuration: try settings.nodeConfiguration(), storage: try settings.storage(), logger: self.logger)
            let nodeHost = try GRPCNodeHost(
                settings: settings, executor: node, state: { node.advertisedState }, logger: self.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await nodeHost.endpoint.run() }
                defer { nodeHost.endpoint.beginGracefulShutdown() }
                let nodeAddress = try await nodeHost.endpoint.listeningAddress
                var serverSettings = ServerSettings(listen: "127.0.0.1:0", storageRoot: root, seed: 1, heartbeatInterval: 0.1)
                serverSettings.nodes = [.init(name: "s1", address: "\(nodeAddress)")]
                let serverHost = try GRPCServerHost(settings: serverSettings, logger: self.logger)
                let connection = try #require(serverHost.membership.connections().first)
                #expect(connection.advertisedState == nil, "nothing known before the first health check")
                group.addTask { try await serverHost.membership.run() }
                defer { serverHost.membership.beginGracefulShutdown() }
                let deadline = ContinuousClock.now + .seconds(20)
                while connection.advertisedState == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
                let state = try #require(connection.advertisedState, "no health check answered within 20 s")
                #expect(state == NodeState(policy: .optional, load: 0.4, loadMode: .fixed, slots: 2, busySlots: 0, queueLength: 0))
            }
        }
    }
}
