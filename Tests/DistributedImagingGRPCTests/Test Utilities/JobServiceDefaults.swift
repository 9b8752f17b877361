import DistributedImagingGRPC
import GRPCCore

/// Test doubles of `JobService` implement only `SubmitJob`; the other calls are unimplemented.
extension Dip_V1_JobService.SimpleServiceProtocol {
    func startJob(request: Dip_V1_SubmitJobRequest, context: ServerContext) async throws -> Dip_V1_StartJobResponse {
        throw RPCError(code: .unimplemented, message: "StartJob is not implemented by this test double")
    }

    func watchJob(
        request: Dip_V1_WatchJobRequest, response: RPCWriter<Dip_V1_SubmitJobResponse>, context: ServerContext
    ) async throws {
        throw RPCError(code: .unimplemented, message: "WatchJob is not implemented by this test double")
    }

    func listJobs(request: Dip_V1_ListJobsRequest, context: ServerContext) async throws -> Dip_V1_ListJobsResponse {
        throw RPCError(code: .unimplemented, message: "ListJobs is not implemented by this test double")
    }

    func cancelJob(request: Dip_V1_CancelJobRequest, context: ServerContext) async throws -> Dip_V1_CancelJobResponse {
        throw RPCError(code: .unimplemented, message: "CancelJob is not implemented by this test double")
    }
}
