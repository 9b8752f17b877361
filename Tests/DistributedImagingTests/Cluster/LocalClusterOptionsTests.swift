import Foundation
import Testing

import DistributedImaging

/// The demonstration cluster `dip-client submit --embedded` describes with its flags.
@Suite("Local cluster options")
struct LocalClusterOptionsTests {
    @Test("The defaults are the demonstration's: 4 optional nodes at the demo loads, the library's server")
    func defaults() throws {
        let options = LocalCluster.Options()
        let nodes = try options.nodeConfigurations()
        #expect(nodes.map(\.load) == LocalCluster.demoLoads)
        #expect(nodes.allSatisfy { $0.policy == .optional && $0.delay == 0.5 })
        let server = try options.serverConfiguration()
        #expect(server.maxAttempts == nil && server.jobTimeout == nil && server.dispatchOrder == .largestFirst)
        #expect(options.summary == "4 optional nodes (node-1 0.8, node-2 0.6, node-3 0.5, node-4 0.2), random placement, delay 0.5 s")
    }

    @Test("Every flag reaches the nodes or the server")
    func flagsApply() throws {
        var options = LocalCluster.Options()
        options.nodes = 2
        options.loads = "0.1"
        options.slots = 3
        options.maxAttempts = 5
        options.maxConcurrentTasks = 7
        options.jobTimeout = 2.5
        options.dispatchOrder = "largest-first"
        options.nodeRoom = "unbounded"
        let nodes = try options.nodeConfigurations()
        #expect(nodes.map(\.load) == [0.1, 0.1] && nodes.allSatisfy { $0.maxConcurrentTasks == 3 })
        let server = try options.serverConfiguration()
        #expect(server.maxAttempts == 5 && server.maxConcurrentTasks == 7)
        #expect(server.jobTimeout == .milliseconds(2500) && server.dispatchOrder == .largestFirst)
        #expect(server.nodeRoom == .unbounded)
        options.nodeRoom = "3"
        #expect(try options.serverConfiguration().nodeRoom == .perSlot(3))
    }

    @Test("A bad value is an error naming it, not a trap", arguments: [-1, 0, .nan, .infinity, 1e300])
    func badJobTimeout(seconds: Double) throws {
        var options = LocalCluster.Options()
        options.jobTimeout = seconds
        let error = #expect(throws: DistributedImagingError.self) { try options.serverConfiguration() }
        #expect(error?.code == .invalidConfiguration && error?.message.contains("jobTimeout") == true)
    }

    @Test("A bad dispatch order, placement or node room names the key and the value")
    func badNames() throws {
        let directory = FileManager.default.temporaryDirectory.path
        var options = LocalCluster.Options()
        options.dispatchOrder = "biggest"
        let order = #expect(throws: DistributedImagingError.self) { try options.serverConfiguration() }
        #expect(order?.message.contains("dispatchOrder") == true && order?.message.contains("biggest") == true)
        options = LocalCluster.Options()
        options.placement = "nearest"
        let placement = #expect(throws: DistributedImagingError.self) { try LocalCluster(storageRoot: directory, options: options) }
        #expect(placement?.message.contains("nearest") == true)
        options = LocalCluster.Options()
        options.nodeRoom = "0"
        let room = #expect(throws: DistributedImagingError.self) { try options.serverConfiguration() }
        #expect(room?.message.contains("nodeRoom (--node-room)") == true && room?.message.contains("'0'") == true)
    }
}
