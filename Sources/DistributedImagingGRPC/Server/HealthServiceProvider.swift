public import DistributedImaging
public import GRPCCore

/// Serves `dip.v1.HealthService` for a server or a node.
///
/// `GetStatus` answers even when the caller speaks another protocol revision, with this peer's
/// revision in the answer (``WireProtocol/version`` when the status has none), so that the caller
/// can name the mismatch.
public struct HealthServiceProvider: Dip_V1_HealthService.SimpleServiceProtocol {
    private let status: @Sendable () async -> PeerStatus

    /// Serves the status `status` returns at each call.
    public init(status: @escaping @Sendable () async -> PeerStatus) {
        self.status = status
    }

    /// Handles `GetStatus`.
    public func getStatus(request: Dip_V1_GetStatusRequest, context: ServerContext) async throws -> Dip_V1_GetStatusResponse {
        var status = await self.status()
        if status.protocolVersion == 0 { status.protocolVersion = WireProtocol.version }
        return Dip_V1_GetStatusResponse(status)
    }
}
