public import DistributedImaging
public import GRPCCore
import Logging
import SwiftProtobuf

/// Serves `dip.v1.RegistryService` over a ``DistributedImaging/NodeMembership``: nodes join and
/// leave the server. It only converts: the membership checks and lists the nodes.
public struct RegistryServiceProvider: Dip_V1_RegistryService.SimpleServiceProtocol {
    private let membership: NodeMembership

    /// Serves `membership`.
    public init(membership: NodeMembership) {
        self.membership = membership
    }

    /// Handles `RegisterNode`.
    public func registerNode(
        request: Dip_V1_RegisterNodeRequest, context: ServerContext
    ) async throws -> Dip_V1_RegisterNodeResponse {
        try WireProtocol.check(request.protocolVersion, by: "dip-server")
        do {
            try await self.membership.admit(try NodeAdvertisement(registration: request.node))
        } catch let error as DistributedImagingError {
            throw RPCError(error)
        }
        return .with {
            $0.protocolVersion = WireProtocol.wireValue
            $0.serverVersion = WireProtocol.softwareVersion
            $0.heartbeatIntervalSeconds = self.membership.heartbeatInterval.seconds
        }
    }

    /// Handles `DeregisterNode`.
    public func deregisterNode(
        request: Dip_V1_DeregisterNodeRequest, context: ServerContext
    ) async throws -> Dip_V1_DeregisterNodeResponse {
        try WireProtocol.check(request.protocolVersion, by: "dip-server")
        self.membership.deregister(NodeID(request.name))
        return Dip_V1_DeregisterNodeResponse()
    }
}
