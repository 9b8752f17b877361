@testable import DistributedImagingGRPC
import Testing

/// The constant-time comparison of the shared token.
@Suite("Bearer token comparison")
struct BearerTokenTests {
    static let token = "Bearer correct-horse-battery-staple"

    @Test("The same token matches")
    func same() {
        #expect(BearerToken.matches(Self.token, Self.token))
        #expect(BearerToken.matches("", ""))
    }

    @Test(
        "The token followed by NUL bytes does not match, whatever the count (256 wrapped an 8-bit length XOR)",
        arguments: [1, 255, 256, 512, 65_536])
    func trailingNULs(count: Int) {
        let padded = Self.token + String(repeating: "\u{0}", count: count)
        #expect(!BearerToken.matches(padded, Self.token))
        #expect(!BearerToken.matches(Self.token, padded))
    }

    @Test("A prefix, an empty string or one changed byte does not match")
    func differences() {
        #expect(!BearerToken.matches(String(Self.token.dropLast()), Self.token))
        #expect(!BearerToken.matches("", Self.token))
        #expect(!BearerToken.matches(Self.token, ""))
        #expect(!BearerToken.matches(String(Self.token.dropLast()) + "f", Self.token))
        #expect(!BearerToken.matches("X" + Self.token.dropFirst(), Self.token))
    }
}
