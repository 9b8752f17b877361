import GRPCCore
import DistributedImaging
import Logging

/// Serves `dip.v1.RegistryService` over a ``NodeRegistry``: nodes join and leave the server.
public struct RegistryServiceProvider: Dip_V1_RegistryService.SimpleServiceProtocol {
    private let registry: NodeRegistry

    /// Serves `registry`.
    public init(registry: NodeRegistry) {
        self.registry = registry
    }

    /// Handles `RegisterNode`.
    public func registerNode(
        request: Dip_V1_RegisterNodeRequest, context: ServerContext
    ) async throws -> Dip_V1_RegisterNodeResponse {
        try WireProtocol.check(request.protocolVersion, by: "dip-server")
        do {
            try await self.registry.admit(try NodeAdvertisement(registration: request.node))
        } catch let error as DistributedImagingError {
            throw RPCError(error)
        }
        return .with {
            $0.protocolVersion = WireProtocol.wireValue
            $0.serverVersion = WireProtocol.softwareVersion
            $0.heartbeatIntervalSeconds = self.registry.heartbeatInterval.seconds
        }
    }

    /// Handles `DeregisterNode`.
    public func deregisterNode(
        request: Dip_V1_DeregisterNodeRequest, context: ServerContext
    ) async throws -> Dip_V1_DeregisterNodeResponse {
        try WireProtocol.check(request.protocolVersion, by: "dip-server")
        self.registry.deregister(NodeID(request.name))
        return Dip_V1_DeregisterNodeResponse()
    }
}
