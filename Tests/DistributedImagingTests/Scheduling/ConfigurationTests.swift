import Foundation
import Testing

@testable import DistributedImaging

@Suite("Configuration")
struct ConfigurationTests {
    @Test("validate() names the node, the key and the value")
    func nodeValidation() throws {
        #expect(throws: Never.self) { try NodeConfiguration(name: "n1", policy: .optional, load: 0.5).validate() }
        let error = #expect(throws: DistributedImagingError.self) {
            try NodeConfiguration(name: "n1", load: 1.5).validate()
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message == "node 'n1': load must be in 0...1, not 1.5")
        #expect(throws: DistributedImagingError.self) { try NodeConfiguration(name: "n1", delay: -1).validate() }
        #expect(throws: DistributedImagingError.self) { try NodeConfiguration(name: "n1", maxConcurrentTasks: 0).validate() }
        #expect(throws: DistributedImagingError.self) { try NodeConfiguration(name: "").validate() }
        let server = #expect(throws: DistributedImagingError.self) { try ServerConfiguration(maxAttempts: 0).validate() }
        #expect(server?.message.contains("maxAttempts") == true)
    }

    @Test("Decoding fills omitted keys with defaults; encoding round-trips")
    func codable() throws {
        let node = try JSONDecoder().decode(NodeConfiguration.self, from: Data(#"{"name": "a", "policy": "optional"}"#.utf8))
        #expect(node == NodeConfiguration(name: "a", policy: .optional))
        let server = try JSONDecoder().decode(ServerConfiguration.self, from: Data("{}".utf8))
        #expect(server == .defaults)
        #expect(server.maxAttempts == nil)
        let full = NodeConfiguration(name: "b", policy: .mandatory, load: 0.3, delay: 0.5, maxConcurrentTasks: 2, seed: 9)
        #expect(try JSONDecoder().decode(NodeConfiguration.self, from: JSONEncoder().encode(full)) == full)
    }

    @Test("nodeConfigurations: one load for all, or one per node")
    func quickNodes() throws {
        let four = try LocalCluster.nodeConfigurations(count: 4, policy: .optional, loads: [0.8, 0.6, 0.5, 0.2], delay: 0.5)
        #expect(four.map(\.name) == ["node-1", "node-2", "node-3", "node-4"])
        #expect(four.map(\.load) == [0.8, 0.6, 0.5, 0.2])
        #expect(try LocalCluster.nodeConfigurations(count: 3, policy: .mandatory, loads: [0.4]).map(\.load) == [0.4, 0.4, 0.4])
        #expect(throws: DistributedImagingError.self) {
            try LocalCluster.nodeConfigurations(count: 3, policy: .mandatory, loads: [0.4, 0.5])
        }
        #expect(throws: DistributedImagingError.self) {
            try LocalCluster.nodeConfigurations(count: 2, policy: .mandatory, loads: [2])
        }
    }
}
