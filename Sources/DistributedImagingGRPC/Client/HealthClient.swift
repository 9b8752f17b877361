public import DistributedImaging
import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftProtobuf

/// Calls `dip.v1.HealthService/GetStatus` on a server or node.
public enum HealthClient {
    /// The status of the peer at `address`, on a connection opened for this one call.
    ///
    /// - Parameters:
    ///   - address: The peer.
    ///   - timeout: How long to wait for the answer.
    ///   - security: The shared token and TLS settings (default none).
    /// - Throws: ``DistributedImaging/DistributedImagingError`` (`unavailable` when it cannot be reached).
    public static func status(
        of address: PeerAddress, timeout: Duration = .seconds(5), security: PeerSecurity = .none
    ) async throws -> PeerStatus {
        let peer = "\(address)"
        let transport: HTTP2ClientTransport.Posix
        do {
            transport = try HTTP2ClientTransport.Posix(target: address.target, transportSecurity: security.clientTransportSecurity)
        } catch {
            throw DistributedImagingError(code: .invalidConfiguration, message: "\(peer): \(DistributedImagingError.message(of: error))", cause: error)
        }
        var options = CallOptions.defaults
        options.waitForReady = false
        options.timeout = timeout
        return try await withGRPCClient(transport: transport, interceptors: security.clientInterceptors) { client in
            try await Self.status(of: client, options: options, peer: peer)
        }
    }

    /// The status of the peer behind `client`.
    static func status<Transport: ClientTransport>(
        of client: GRPCClient<Transport>, options: CallOptions, peer: String
    ) async throws -> PeerStatus {
        let health = Dip_V1_HealthService.Client(wrapping: client)
        do {
            let response = try await health.getStatus(
                .with { $0.protocolVersion = WireProtocol.wireValue }, options: options)
            return PeerStatus(response)
        } catch {
            throw DistributedImagingError.fromRPC(error, peer: peer)
        }
    }
}
