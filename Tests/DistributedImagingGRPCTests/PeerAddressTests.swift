import DistributedImaging
import DistributedImagingGRPC
import Testing

@Suite("PeerAddress")
struct PeerAddressTests {
    @Test(
        "Parses HOST:PORT",
        arguments: [
            ("127.0.0.1:7000", "127.0.0.1", 7000), ("localhost:1", "localhost", 1), ("[::1]:8080", "::1", 8080),
            (":7000", "0.0.0.0", 7000), ("0.0.0.0:0", "0.0.0.0", 0),
        ])
    func parses(text: String, host: String, port: Int) throws {
        let address = try PeerAddress(parsing: text)
        #expect(address.host == host)
        #expect(address.port == port)
    }

    @Test("Refuses nonsense and names the key", arguments: ["7000", "host:", "host:99999", "::1:80", "[::1]80", "h:p"])
    func refuses(text: String) {
        let error = #expect(throws: DistributedImagingError.self) { try PeerAddress(parsing: text, key: "--listen") }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("--listen") == true)
        #expect(error?.message.contains(text) == true)
    }

    @Test func description() throws {
        #expect(try PeerAddress(parsing: "[::1]:5").description == "[::1]:5")
        #expect(try PeerAddress(parsing: "10.0.0.1:5").description == "10.0.0.1:5")
    }
}
