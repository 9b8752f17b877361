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

    @Test("server.nodeRoom: a number of tasks per slot or 'unbounded'; a bad value names the key and the value")
    func nodeRoom() throws {
        #expect(try NodeRoom(parsing: "3") == .perSlot(3))
        #expect(try NodeRoom(parsing: " 3 ") == .perSlot(3))
        #expect(try NodeRoom(parsing: "unbounded") == .unbounded)
        #expect(try NodeRoom(parsing: "Unbounded") == .unbounded)
        for bad in ["0", "1001", "-2", "two", "", "2.5"] {
            let error = #expect(throws: DistributedImagingError.self) { try NodeRoom(parsing: bad) }
            #expect(error?.code == .invalidConfiguration)
            #expect(error?.message.contains("server.nodeRoom (--node-room)") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("'\(bad)'") == true)
        }
        let decoded = try JSONDecoder().decode(ServerConfiguration.self, from: Data(#"{"nodeRoom": 4}"#.utf8))
        #expect(decoded.nodeRoom == .perSlot(4))
        #expect(try JSONDecoder().decode(ServerConfiguration.self, from: Data(#"{"nodeRoom": "unbounded"}"#.utf8)).nodeRoom == .unbounded)
        #expect(try JSONDecoder().decode(ServerConfiguration.self, from: Data("{}".utf8)).nodeRoom == .perSlot(2))
        for bad in [#"{"nodeRoom": 0}"#, #"{"nodeRoom": 2.5}"#, #"{"nodeRoom": true}"#, #"{"nodeRoom": "lots"}"#] {
            let error = #expect(throws: DecodingError.self) { try JSONDecoder().decode(ServerConfiguration.self, from: Data(bad.utf8)) }
            guard case .dataCorrupted(let context) = error else {
                Issue.record("\(bad): \(String(describing: error))")
                continue
            }
            #expect(context.debugDescription.contains("whole number of tasks per slot"), "\(context.debugDescription)")
            #expect(context.codingPath.map(\.stringValue) == ["nodeRoom"])
        }
        var server = ServerConfiguration.defaults
        server.nodeRoom = .unbounded
        #expect(try JSONDecoder().decode(ServerConfiguration.self, from: JSONEncoder().encode(server)) == server)
        server.nodeRoom = .perSlot(0)
        let invalid = #expect(throws: DistributedImagingError.self) { try server.validate() }
        #expect(invalid?.message.contains("nodeRoom") == true)
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
