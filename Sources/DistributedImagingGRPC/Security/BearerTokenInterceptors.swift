import DistributedImaging
import GRPCCore
import Logging

/// The metadata key and value format of the shared token (`authorization: Bearer <token>`).
enum BearerToken {
    static let metadataKey = "authorization"

    static func value(_ token: String) -> String { "Bearer \(token)" }

    /// Compares in time independent of where the strings differ.
    ///
    /// The lengths are compared in full (a length difference that is a multiple of 256
    /// must not vanish), then every byte up to the longer length.
    static func matches(_ presented: String, _ expected: String) -> Bool {
        let a = Array(presented.utf8)
        let b = Array(expected.utf8)
        let lengthsDiffer = a.count != b.count
        var difference: UInt8 = 0
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return !lengthsDiffer && difference == 0
    }
}

/// Adds `authorization: Bearer <token>` to every outgoing call.
struct BearerTokenClientInterceptor: ClientInterceptor {
    let token: String

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>,
        context: ClientContext,
        next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        var request = request
        request.metadata.replaceOrAddString(BearerToken.value(self.token), forKey: BearerToken.metadataKey)
        return try await next(request, context)
    }
}

/// Refuses every call whose `authorization` metadata is not `Bearer <token>` with
/// `UNAUTHENTICATED`; logs the refusal (peer and method, never the secret) at `warning`.
struct BearerTokenServerInterceptor: ServerInterceptor {
    let token: String
    let logger: Logger?

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let presented = request.metadata[stringValues: BearerToken.metadataKey].first(where: { _ in true })
        guard let presented, BearerToken.matches(presented, BearerToken.value(self.token)) else {
            let reason = presented == nil ? "no authorization token" : "a wrong authorization token"
            self.logger?.warning(
                "refused a call: \(reason)",
                metadata: ["peer": "\(context.remotePeer)", "method": "\(context.descriptor)"])
            return StreamingServerResponse(
                error: RPCError(
                    code: .unauthenticated,
                    message: "\(reason): pass the cluster's shared token (--auth-token-file or DIP_AUTH_TOKEN)",
                    metadata: [ErrorMetadata.codeKey: .string(DistributedImagingError.Code.unauthenticated.description)]))
        }
        return try await next(request, context)
    }
}
