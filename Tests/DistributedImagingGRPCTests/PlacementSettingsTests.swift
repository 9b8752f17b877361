import DistributedImaging
import DistributedImagingGRPC
import Foundation
import Testing

@Suite("Placement setting")
struct PlacementSettingsTests {
    @Test("server.placement defaults to random and names every placement")
    func names() throws {
        let defaults = try DeploymentConfiguration.decode(Data("{}".utf8))
        #expect(defaults.server.placement == "random")
        #expect(try defaults.server.placementStrategy() == .random)
        for strategy in PlacementStrategy.allCases {
            let json = #"{"server": {"placement": "\#(strategy.rawValue)"}}"#
            #expect(try DeploymentConfiguration.decode(Data(json.utf8)).server.placementStrategy() == strategy)
        }
    }

    @Test("an unknown server.placement is refused by validate, naming the key")
    func unknown() throws {
        var settings = try DeploymentConfiguration.decode(Data(#"{"server": {"placement": "fastest"}}"#.utf8)).server
        settings.storageRoot = "/"
        let error = #expect(throws: DistributedImagingError.self) { try settings.validate() }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("server.placement") == true)
    }
}
