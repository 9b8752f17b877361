import DistributedImaging
import DistributedImagingGRPC
import Foundation
import Testing

@Suite("Configuration file")
struct DeploymentConfigurationTests {
    /// The repository's `config.example.json`.
    static var examplePath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config.example.json").path
    }

    @Test("config.example.json decodes, sets every key, and validates")
    func example() throws {
        let configuration = try DeploymentConfiguration.load(path: Self.examplePath)
        #expect(configuration.client.server != nil)
        #expect(configuration.client.storageRoot != nil)
        #expect(configuration.server.nodes.count >= 1)
        #expect(configuration.server.taskTimeout != nil && configuration.server.seed != nil)
        #expect(configuration.node.advertise != nil && configuration.node.server != nil && configuration.node.seed != nil)
        try configuration.server.validate()
        try configuration.node.validate()
        _ = try configuration.client.serverAddress()
        _ = try configuration.client.outputFormat()
        #expect(configuration.server.security.authTokenFile != nil && configuration.node.security.tlsKey != nil)
        #expect(configuration.client.security.tlsTrustRoots != nil)
        // Every key of every section is present in the example.
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.examplePath)))
        let sections = try #require(json as? [String: [String: Any]])
        #expect(Set(sections["client"]?.keys.map { $0 } ?? []) == ["server", "storageRoot", "pipeline", "format", "quality", "security"])
        #expect(
            Set(sections["server"]?.keys.map { $0 } ?? [])
                == ["listen", "storageRoot", "maxAttempts", "maxConcurrentTasks", "seed", "heartbeatInterval", "taskTimeout", "nodes", "security", "maxImagesPerJob", "shutdownGracePeriod", "metricsListen", "maxConcurrentStreams", "stateDirectory", "jobRetention", "placement", "jobTimeout", "dispatchOrder", "nodeRoom"])
        #expect(
            Set(sections["node"]?.keys.map { $0 } ?? [])
                == ["name", "listen", "advertise", "server", "storageRoot", "policy", "load", "delay", "maxConcurrentTasks", "seed", "security", "maxPixels", "maxFileBytes", "metricsListen", "maxConcurrentStreams", "durableWrites", "taskListen", "shareCores"])
    }

    @Test("node.taskListen: default the listen host and a free port, a HOST:PORT, or off; a bad one is named")
    func taskListen() throws {
        var settings = NodeSettings(name: "n", listen: "127.0.0.1:7100", storageRoot: "/tmp")
        #expect(try settings.taskListenAddress() == PeerAddress(host: "127.0.0.1", port: 0))
        settings.taskListen = "127.0.0.1:7101"
        #expect(try settings.taskListenAddress() == PeerAddress(host: "127.0.0.1", port: 7101))
        settings.taskListen = "off"
        #expect(try settings.taskListenAddress() == nil)
        settings.taskListen = "nowhere:port"
        let error = #expect(throws: DistributedImagingError.self) { try settings.validate() }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("node.taskListen (--task-listen)") == true)
        let decoded = try DeploymentConfiguration.decode(Data(#"{"node": {"name": "n", "taskListen": "off"}}"#.utf8))
        #expect(decoded.node.taskListen == "off")
    }

    @Test("node.shareCores decodes (default true)")
    func shareCores() throws {
        #expect(try DeploymentConfiguration.decode(Data(#"{"node": {"name": "n"}}"#.utf8)).node.shareCores)
        #expect(try !DeploymentConfiguration.decode(Data(#"{"node": {"name": "n", "shareCores": false}}"#.utf8)).node.shareCores)
    }

    @Test("node.durableWrites decodes (default false) and reaches the node's configuration and storage")
    func durableWrites() throws {
        let off = try DeploymentConfiguration.decode(Data(#"{"node": {"name": "n"}}"#.utf8))
        #expect(off.node.durableWrites == false)
        #expect(try off.node.nodeConfiguration().durableWrites == false)
        var on = try DeploymentConfiguration.decode(Data(#"{"node": {"name": "n", "durableWrites": true}}"#.utf8))
        #expect(on.node.durableWrites)
        #expect(try on.node.nodeConfiguration().durableWrites)
        on.node.storageRoot = FileManager.default.temporaryDirectory.path
        #expect(try on.node.storage().durableWrites)
        let bad = #expect(throws: DistributedImagingError.self) {
            try DeploymentConfiguration.decode(Data(#"{"node": {"durableWrites": "yes"}}"#.utf8), source: "test.json")
        }
        #expect(bad?.message.contains("node.durableWrites") == true, "\(bad?.message ?? "")")
    }

    @Test("server.nodeRoom: a number per slot or \"unbounded\" reaches the server's configuration")
    func nodeRoom() throws {
        let three = try DeploymentConfiguration.decode(Data(#"{"server": {"nodeRoom": 3}}"#.utf8))
        #expect(try three.server.serverConfiguration().nodeRoom == .perSlot(3))
        let unbounded = try DeploymentConfiguration.decode(Data(#"{"server": {"nodeRoom": "unbounded"}}"#.utf8))
        #expect(try unbounded.server.serverConfiguration().nodeRoom == .unbounded)
        #expect(try DeploymentConfiguration.decode(Data("{}".utf8)).server.serverConfiguration().nodeRoom == .perSlot(2))
    }

    @Test("An empty file takes every default")
    func defaults() throws {
        let configuration = try DeploymentConfiguration.decode(Data("{}".utf8))
        #expect(configuration == DeploymentConfiguration())
        #expect(configuration.server.listen == "0.0.0.0:7000")
        #expect(configuration.node.delay == 3)
    }

    @Test(
        "A bad file names the key and the value",
        arguments: [
            (#"{"node": {"policy": "sometimes"}}"#, ["node.policy", "sometimes"]),
            (#"{"server": {"listen": "nowhere"}}"#, ["server.listen", "nowhere"]),
            (#"{"node": {"lod": 0.5}}"#, ["node.lod"]),
            (#"{"nodes": []}"#, ["nodes"]),
            (#"{"node": {"load": "high"}}"#, ["node.load", "a number"]),
            (#"{"server": {"nodes": [{"name": "a"}]}}"#, ["server.nodes[0].address"]),
            (#"{"server": {"maxConcurrentStreams": 0}}"#, ["server.maxConcurrentStreams", "not 0"]),
            (#"{"server": {"maxConcurrentStreams": -1}}"#, ["server.maxConcurrentStreams", "not -1"]),
            (#"{"server": {"maxConcurrentStreams": 1000000}}"#, ["server.maxConcurrentStreams", "not 1000000"]),
            (#"{"server": {"nodeRoom": 0}}"#, ["test.json", "server.nodeRoom", "not 0"]),
            (#"{"server": {"nodeRoom": "lots"}}"#, ["test.json", "server.nodeRoom", "'lots'"]),
            (#"{"server": {"nodeRoom": 2.5}}"#, ["test.json", "server.nodeRoom", "not 2.5"]),
            (#"{"server": {"nodeRoom": true}}"#, ["test.json", "server.nodeRoom", "whole number of tasks per slot"]),
        ])
    func bad(json: String, mentions: [String]) throws {
        let error = #expect(throws: DistributedImagingError.self) {
            var configuration = try DeploymentConfiguration.decode(Data(json.utf8), source: "test.json")
            configuration.server.storageRoot = "/tmp"
            try configuration.server.validate()
        }
        #expect(error?.code == .invalidConfiguration)
        for mention in mentions {
            #expect(error?.message.contains(mention) == true, "\(error?.message ?? "") should mention \(mention)")
        }
    }

    @Test("Decoding errors name the file")
    func namesFile() {
        let error = #expect(throws: DistributedImagingError.self) {
            try DeploymentConfiguration.decode(Data(#"{"node": {"load": true}}"#.utf8), source: "test.json")
        }
        #expect(error?.message.hasPrefix("test.json: key 'node.load'") == true, "\(error?.message ?? "")")
    }

    @Test("A wildcard listen address needs --advertise")
    func advertise() throws {
        var node = NodeSettings(name: "n", listen: "0.0.0.0:0", server: "127.0.0.1:7000", storageRoot: "/tmp")
        #expect(throws: DistributedImagingError.self) { try node.validate() }
        node.advertise = "127.0.0.1:0"
        try node.validate()
        #expect(try node.advertisedAddress(bound: PeerAddress(host: "0.0.0.0", port: 4242)).description == "127.0.0.1:4242")
    }
}
