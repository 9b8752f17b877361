/// An error raised by DistributedImaging.
///
/// Every error carries a ``Code`` that programs can switch on, a message for people that names
/// the input at fault (the file, the configuration key, the filter or the node) and, when it
/// wraps another error, that error as its ``cause`` (as grpc-swift's `RPCError` does).
///
/// Two errors are equal when their codes and messages are; the cause is not compared.
public struct DistributedImagingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is. A struct over a private enum so that codes can be added
    /// without breaking the API.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable, Hashable, CaseIterable {
            case invalidImage
            case unsupportedImage
            case imageTooLarge
            case fileTooLarge
            case io
            case invalidPipeline
            case invalidArgument
            case invalidConfiguration
            case pathOutsideStorageRoot
            case notFound
            case unavailable
            case cancelled
            case timedOut
            case unauthenticated
            case internalError
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The code named `name` (its ``description``, e.g. `pathOutsideStorageRoot`), or `nil` for
        /// a name this release does not know: how a code crosses a wire and comes back.
        public init?(_ name: String) {
            guard let value = Value(rawValue: name) else { return nil }
            self.value = value
        }

        /// Every code.
        public static var allCases: [Code] { Value.allCases.map(Code.init) }

        /// The input is not a decodable PNG or JPEG: corrupt, truncated, empty or another format.
        public static let invalidImage = Self(.invalidImage)
        /// The input is a valid image of a kind this build cannot decode (for example 12-bit JPEG).
        public static let unsupportedImage = Self(.unsupportedImage)
        /// The image declares more pixels than the configured limit.
        public static let imageTooLarge = Self(.imageTooLarge)
        /// The file is larger than the configured limit.
        public static let fileTooLarge = Self(.fileTooLarge)
        /// Reading or writing a file failed.
        public static let io = Self(.io)
        /// A pipeline spec could not be parsed or names an unknown filter.
        public static let invalidPipeline = Self(.invalidPipeline)
        /// A value passed to an API is out of range.
        public static let invalidArgument = Self(.invalidArgument)
        /// A configuration file or flag is invalid.
        public static let invalidConfiguration = Self(.invalidConfiguration)
        /// A path resolves outside the shared storage root.
        public static let pathOutsideStorageRoot = Self(.pathOutsideStorageRoot)
        /// A file or directory does not exist.
        public static let notFound = Self(.notFound)
        /// A peer (server or node) cannot be reached.
        public static let unavailable = Self(.unavailable)
        /// The operation was cancelled.
        public static let cancelled = Self(.cancelled)
        /// The operation did not finish in time.
        public static let timedOut = Self(.timedOut)
        /// The credentials were missing or wrong.
        public static let unauthenticated = Self(.unauthenticated)
        /// A bug: an invariant did not hold.
        public static let internalError = Self(.internalError)

        public var description: String { self.value.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A human-readable message that names the input at fault.
    public var message: String
    /// The error this one wraps, if any (an RPC status, a file system error, a store's error).
    public var cause: (any Error)?

    /// An error with a code, a message and, optionally, the error it wraps.
    public init(code: Code, message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// `code: message`, and the cause when there is one, e.g.
    /// `unavailable: cannot reach node 'n1' (cause: …)`.
    public var description: String {
        var text = "\(self.code): \(self.message)"
        if let cause = self.cause { text += " (cause: \(cause))" }
        return text
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.code)
        hasher.combine(self.message)
    }
}

extension DistributedImagingError {
    static func invalidArgument(_ message: String) -> Self { Self(code: .invalidArgument, message: message) }
    static func invalidPipeline(_ message: String) -> Self { Self(code: .invalidPipeline, message: message) }
    static func invalidConfiguration(_ message: String) -> Self { Self(code: .invalidConfiguration, message: message) }
    static func outsideStorageRoot(_ message: String) -> Self { Self(code: .pathOutsideStorageRoot, message: message) }
    static func notFound(_ message: String) -> Self { Self(code: .notFound, message: message) }
    static func io(_ message: String, cause: (any Error)? = nil) -> Self { Self(code: .io, message: message, cause: cause) }
    static func unavailable(_ message: String, cause: (any Error)? = nil) -> Self {
        Self(code: .unavailable, message: message, cause: cause)
    }
}

extension DistributedImagingError {
    /// The message of `error` for people: a library error's ``message`` (without its code), any
    /// other error's description.
    package static func message(of error: any Error) -> String {
        (error as? DistributedImagingError)?.message ?? "\(error)"
    }
}
