import DistributedImaging
@testable import DistributedImagingGRPC
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftProtobuf
import Testing

/// Issue #11 (B): random well-formed and malformed request messages to every RPC of
/// services.proto, sent to a running dip-server and dip-node (real executables). No process may
/// die, and every call must end with a status — success or an `RPCError` — within its deadline.
///
/// Seeded: `DIP_FUZZ_SEED` replays a run, `DIP_FUZZ_CALLS` makes it longer (default 300 calls).
@Suite("Wire fuzzing (real executables)", .serialized, .timeLimit(.minutes(2)))
struct WireFuzzTests {
    static let seed = ProcessInfo.processInfo.environment["DIP_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED_0011
    static let calls = ProcessInfo.processInfo.environment["DIP_FUZZ_CALLS"].flatMap { Int($0) } ?? 300

    @Test("Random and malformed messages to every RPC of a server and a node: no crash, no hang")
    func fuzz() async throws {
        try await withFaultCluster { cluster in
            // A couple of real images, so that some tasks and jobs get past the path checks.
            try CancellationStressTests.makeTinyImages(2, in: cluster.root.appendingPathComponent("in"))
            // Short crash reports (the processes inherit this), so a crash is over quickly.
            setenv("SWIFT_BACKTRACE", "enable=yes,interactive=no,threads=crashed,registers=none,images=none,limit=24", 1)
            var server = FuzzTarget(name: "dip-server", process: nil, address: try await cluster.startServer())
            server.process = cluster.server
            let (nodeProcess, nodeAddress) = try await cluster.startStaticNode("fuzz-node", ["--load", "0"])
            var node = FuzzTarget(name: "dip-node", process: nodeProcess, address: nodeAddress)

            var fuzzer = WireFuzzer(seed: Self.seed)
            var outcomes: [String: Int] = [:]
            var deaths = 0
            for index in 0..<Self.calls {
                let method = FuzzMethod.allCases[Int(fuzzer.next(upTo: UInt64(FuzzMethod.allCases.count)))]
                let (mode, bytes) = fuzzer.message(for: method)
                let target = index.isMultiple(of: 2) ? server : node
                let outcome = await Self.call(method, bytes, to: target.address)
                let label = "call \(index) (seed \(Self.seed)): \(method) [\(mode), \(bytes.count) bytes] to \(target.name)"
                switch outcome {
                case .answered(let code): outcomes[code, default: 0] += 1
                case .otherError(let error): Issue.record("\(label) ended with a non-RPC error: \(error)")
                case .hung: Issue.record("\(label) got no status within its deadline")
                }
                // A crashed process: say which call killed it (with the message), then restart it.
                // A call crashes its own target; the crash report is complete once it exited.
                for isServer in [true, false] {
                    let victim = isServer ? server : node
                    guard let process = victim.process, Self.crashed(process) else { continue }
                    deaths += 1
                    try? await ManagedProcess.waitUntil(timeout: .seconds(30)) { !process.process.isRunning }
                    process.stop()
                    Issue.record(
                        """
                        \(label) killed \(victim.name) (exit \(process.process.terminationStatus)); \
                        message: \(Self.hex(bytes)); stderr: \(Self.crashReport(process.errors))
                        """)
                    try #require(deaths < 5, "too many crashes: stopping")
                    if isServer {
                        server.address = try await cluster.startServer()
                        server.process = cluster.server
                    } else {
                        let (process, address) = try await cluster.startStaticNode("fuzz-node", ["--load", "0"])
                        node.process = process
                        node.address = address
                    }
                }
            }
            // Every kind of answer was seen, and both still answer a health call.
            #expect(outcomes.values.reduce(0, +) > Self.calls / 2, "\(outcomes)")
            #expect(outcomes["ok", default: 0] > 0, "no call succeeded: \(outcomes)")
            for target in [server, node] {
                let status = try await HealthClient.status(of: target.address)
                #expect(status.serving, "\(target.name)")
            }
        }
    }

    enum Outcome: Sendable {
        /// "ok" or the RPCError's code.
        case answered(String)
        case otherError(String)
        case hung
    }

    /// One call on its own connection, bounded by a deadline (and a guard twice as long, in case
    /// the deadline itself is not honoured).
    static func call(_ method: FuzzMethod, _ bytes: [UInt8], to address: PeerAddress) async -> Outcome {
        let deadline = Duration.seconds(3)
        let body: @Sendable () async throws -> Outcome = {
            let transport = try HTTP2ClientTransport.Posix(target: address.target, transportSecurity: .plaintext)
            return try await withGRPCClient(transport: transport) { client in
                var options = CallOptions.defaults
                options.waitForReady = false
                options.timeout = deadline
                let request = ClientRequest(message: bytes)
                do {
                    if method.isServerStreaming {
                        try await client.serverStreaming(
                            request: request, descriptor: method.descriptor, serializer: RawBytes(), deserializer: RawBytes(),
                            options: options
                        ) { response in
                            for try await _ in response.messages {}
                        }
                    } else {
                        try await client.unary(
                            request: request, descriptor: method.descriptor, serializer: RawBytes(), deserializer: RawBytes(),
                            options: options
                        ) { response in
                            _ = try response.message
                        }
                    }
                    return .answered("ok")
                } catch let error as RPCError {
                    return .answered("\(error.code)")
                }
            }
        }
        do {
            return try await withThrowingTaskGroup(of: Outcome?.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    try await Task.sleep(for: deadline * 2)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let outcome = first else { return .hung }
                return outcome
            }
        } catch {
            return .otherError("\(error)")
        }
    }

    static func crashed(_ process: ManagedProcess) -> Bool {
        guard process.process.isRunning else { return true }
        let errors = process.errors
        return errors.contains("Fatal error") || errors.contains("Assertion failed") || errors.contains("Program crashed")
    }

    /// The fatal error line and the crashed thread's first frames of a backtrace.
    static func crashReport(_ errors: String) -> String {
        let lines = errors.split(separator: "\n", omittingEmptySubsequences: false)
        let fatal = lines.filter { $0.contains("Fatal error") || $0.contains("failed:") || $0.contains("Program crashed") }
        let frames = lines.drop { !$0.contains("crashed:") }.prefix(24)
        return (fatal + frames).joined(separator: "\n").prefix(4000) + (fatal.isEmpty ? "\n" + errors.suffix(800) : "")
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let shown = bytes.prefix(160).map { String(format: "%02x", $0) }.joined()
        return bytes.count > 160 ? shown + "… (\(bytes.count) bytes)" : shown
    }
}

struct FuzzTarget {
    var name: String
    var process: ManagedProcess?
    var address: PeerAddress
}

/// Sends and receives serialized messages as they are: lets the test send bytes that no
/// generated type would produce.
struct RawBytes: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}

/// Every RPC in services.proto.
enum FuzzMethod: CaseIterable, CustomStringConvertible {
    case submitJob, runTask, registerNode, deregisterNode, getStatus

    var descriptor: MethodDescriptor {
        switch self {
        case .submitJob: Dip_V1_JobService.Method.SubmitJob.descriptor
        case .runTask: Dip_V1_NodeService.Method.RunTask.descriptor
        case .registerNode: Dip_V1_RegistryService.Method.RegisterNode.descriptor
        case .deregisterNode: Dip_V1_RegistryService.Method.DeregisterNode.descriptor
        case .getStatus: Dip_V1_HealthService.Method.GetStatus.descriptor
        }
    }

    var isServerStreaming: Bool { self == .submitJob }
    var description: String { self.descriptor.description }
}

/// Seeded random messages: well-formed ones with extreme field values, and malformed bytes.
struct WireFuzzer {
    private var rng: SeededRandomNumberGenerator

    init(seed: UInt64) { self.rng = SeededRandomNumberGenerator(seed: seed) }

    mutating func next(upTo bound: UInt64) -> UInt64 { self.rng.next(upperBound: bound) }
    mutating func chance(_ percent: UInt64) -> Bool { self.next(upTo: 100) < percent }
    mutating func pick<T>(_ values: [T]) -> T { values[Int(self.next(upTo: UInt64(values.count)))] }

    /// A message for `method` and how it was made.
    mutating func message(for method: FuzzMethod) -> (mode: String, bytes: [UInt8]) {
        let wellFormed = self.wellFormed(method)
        switch self.next(upTo: 10) {
        case 0: return ("empty", [])
        case 1: return ("random bytes", self.bytes(count: self.pick([1, 8, 64, 1000])))
        case 2: return ("mutated", self.mutate(wellFormed))
        case 3: return ("invalid UTF-8", wellFormed + self.invalidUTF8(method))
        case 4: return ("bad wire types", wellFormed + self.badWireTypes())
        default: return ("well-formed", wellFormed)
        }
    }

    // MARK: Well-formed messages with random values

    mutating func wellFormed(_ method: FuzzMethod) -> [UInt8] {
        do {
            switch method {
            case .submitJob:
                return try Dip_V1_SubmitJobRequest.with {
                    $0.protocolVersion = self.protocolVersion()
                    if self.chance(90) { $0.job = self.jobRequest() }
                    if self.chance(50) { $0.clientVersion = self.string() }
                }.serializedBytes()
            case .runTask:
                return try Dip_V1_RunTaskRequest.with {
                    $0.protocolVersion = self.protocolVersion()
                    if self.chance(90) { $0.task = self.taskRequest() }
                }.serializedBytes()
            case .registerNode:
                return try Dip_V1_RegisterNodeRequest.with {
                    $0.protocolVersion = self.protocolVersion()
                    if self.chance(90) { $0.node = self.nodeInfo() }
                }.serializedBytes()
            case .deregisterNode:
                return try Dip_V1_DeregisterNodeRequest.with {
                    $0.protocolVersion = self.protocolVersion()
                    $0.name = self.chance(30) ? self.pick(["fuzz-node", "n1", "node-1"]) : self.string()
                }.serializedBytes()
            case .getStatus:
                return try Dip_V1_GetStatusRequest.with { $0.protocolVersion = self.protocolVersion() }.serializedBytes()
            }
        } catch {
            // Swift strings are valid UTF-8, so serialization does not fail; keep the call anyway.
            return []
        }
    }

    mutating func protocolVersion() -> Dip_V1_ProtocolVersion {
        self.chance(80) ? .protocolVersion1 : Dip_V1_ProtocolVersion(rawValue: Int(self.int32())) ?? .unspecified
    }

    mutating func jobRequest() -> Dip_V1_JobRequest {
        Dip_V1_JobRequest.with {
            $0.inputDirectory = self.chance(40) ? self.pick(["in", ".", "", "in/", "/in", "../in", "missing"]) : self.string()
            if self.chance(50) { $0.outputDirectory = self.chance(50) ? "out-\(self.next(upTo: 1000))" : self.string() }
            $0.pipeline = self.pipeline()
            if self.chance(70) { $0.outputFormat = self.outputFormat() }
            $0.recursive = self.chance(30)
            $0.force = self.chance(50)
            if self.chance(30) {
                $0.only = .with { list in
                    list.paths = (0..<self.next(upTo: 6)).map { _ in
                        self.chance(50) ? "in/img-0000\(self.next(upTo: 3)).png" : self.string()
                    }
                }
            }
        }
    }

    mutating func taskRequest() -> Dip_V1_TaskRequest {
        Dip_V1_TaskRequest.with {
            $0.jobID = self.chance(50) ? "job-\(self.next(upTo: 100))" : self.string()
            $0.taskIndex = self.chance(60) ? Int32(self.next(upTo: 100)) : self.int32()
            $0.inputPath = self.chance(50) ? "in/img-0000\(self.next(upTo: 3)).png" : self.string()
            $0.outputPath = self.chance(50) ? "out/t-\(self.next(upTo: 1000)).png" : self.string()
            $0.pipeline = self.pipeline()
            if self.chance(80) { $0.outputFormat = self.outputFormat() }
            $0.attempt = self.chance(60) ? Int32(self.next(upTo: 5)) : self.int32()
        }
    }

    mutating func outputFormat() -> Dip_V1_OutputFormat {
        Dip_V1_OutputFormat.with {
            let kinds: [Dip_V1_OutputFormat.Kind] = [.png, .jpeg]
            $0.kind = self.chance(70) ? self.pick(kinds) : Dip_V1_OutputFormat.Kind(rawValue: Int(self.int32())) ?? .unspecified
            $0.quality = self.chance(50) ? Int32(self.next(upTo: 101)) : self.int32()
            if self.chance(40) { $0.compressionLevel = self.chance(50) ? Int32(self.next(upTo: 10)) : self.int32() }
        }
    }

    mutating func nodeInfo() -> Dip_V1_NodeInfo {
        Dip_V1_NodeInfo.with {
            $0.name = self.chance(40) ? "fz-\(self.next(upTo: 20))" : self.string()
            // Mostly unreachable loopback ports, so registered nodes fail fast if ever called.
            $0.address = self.chance(50) ? "127.0.0.1:\(self.pick([0, 1, 9, 65535, 65536, 99999]))" : self.string()
            let policies: [Dip_V1_SchedulingPolicy] = [.mandatory, .optional]
            $0.policy =
                self.chance(60) ? self.pick(policies) : Dip_V1_SchedulingPolicy(rawValue: Int(self.int32())) ?? .unspecified
            $0.load = self.double()
            $0.maxConcurrentTasks = self.int32()
            $0.activeTasks = self.int32()
            $0.softwareVersion = self.string()
            $0.source = self.string()
            if self.chance(50) {
                $0.activity = .with { activity in
                    activity.inFlight = self.int32()
                    activity.done = self.int32()
                    activity.failed = self.int32()
                    activity.rejected = self.int32()
                }
            }
            if self.chance(30) { $0.suspect = self.chance(50) }
        }
    }

    mutating func pipeline() -> String {
        if self.chance(30) { return self.string() }
        let filters = [
            "invert", "grayscale", "identity", "edges", "sobel", "gaussian(sigma: 2)", "gaussian(size: 5)", "box(size: 3)",
            "canny(low: 100, high: 200)", "sharpen", "threshold(value: 128)", "resize(width: 4, height: 4)",
            "gaussian(sigma: 1e308)", "gaussian(sigma: nan)", "gaussian(size: -1)", "gaussian(size: 2147483647)",
            "box(size: 0)", "box(size: 99999999999999999999)", "resize(width: 0, height: 0)",
            "resize(width: -5, height: 3)", "resize(width: 100000, height: 100000)", "threshold(value: -1)",
            "canny(low: inf, high: -inf)", "sharpen(amount: nan)", "unknown", "invert(", "| |", "invert |",
        ]
        return (0...self.next(upTo: 3)).map { _ in self.pick(filters) }.joined(separator: " | ")
    }

    mutating func int32() -> Int32 {
        switch self.next(upTo: 8) {
        case 0: 0
        case 1: -1
        case 2: .min
        case 3: .max
        case 4: 1
        case 5: Int32(truncatingIfNeeded: Int64(self.next(upTo: 21)) - 10)
        default: Int32(truncatingIfNeeded: self.rng.next())
        }
    }

    mutating func double() -> Double {
        switch self.next(upTo: 12) {
        case 0: .nan
        case 1: .infinity
        case 2: -.infinity
        case 3: .greatestFiniteMagnitude
        case 4: -.greatestFiniteMagnitude
        case 5: .leastNonzeroMagnitude
        case 6: -0.0
        case 7: -1
        case 8: 2
        case 9: Double(bitPattern: self.rng.next())
        default: Double(self.next(upTo: 1001)) / 1000
        }
    }

    mutating func string() -> String {
        switch self.next(upTo: 10) {
        case 0: return ""
        case 1: return String(repeating: "a", count: self.pick([256, 4096, 70_000]))
        case 2:
            return self.pick([
                "../../etc/passwd", "/etc", "/", ".", "..", "in/../../x", "a\u{0}b", "\n\t\r", " ", "in/img-00000.png/",
                "~", "%s%n%x", "\\\\", "in//img-00000.png", "./in", "in/.",
            ])
        case 3: return self.pick(["é", "\u{202E}gnp.exe", "🧪🧪", "\u{FEFF}", "\u{FFFD}", "e\u{301}\u{301}\u{301}", "\u{10FFFF}"])
        default:
            let length = Int(self.next(upTo: 24))
            return String((0..<length).map { _ in Character(Unicode.Scalar(UInt8(32 + self.next(upTo: 95)))) })
        }
    }

    // MARK: Malformed bytes

    mutating func bytes(count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: self.rng.next()) }
    }

    mutating func mutate(_ message: [UInt8]) -> [UInt8] {
        var bytes = message.isEmpty ? self.bytes(count: 4) : message
        switch self.next(upTo: 3) {
        case 0:
            for _ in 0...self.next(upTo: 4) { bytes[Int(self.next(upTo: UInt64(bytes.count)))] ^= UInt8(1 << self.next(upTo: 8)) }
        case 1:
            bytes.removeLast(Int(self.next(upTo: UInt64(bytes.count))) + 1)
        default:
            bytes += self.bytes(count: Int(self.next(upTo: 16)) + 1)
        }
        return bytes
    }

    /// A string field holding bytes that are not UTF-8: top level (DeregisterNode's name) or
    /// merged into the nested message in field 2 (job, task, node).
    mutating func invalidUTF8(_ method: FuzzMethod) -> [UInt8] {
        let invalid: [UInt8] = self.pick([[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0x61, 0xF8, 0x88, 0x80, 0x80, 0x80], [0xE2, 0x82]])
        switch method {
        case .deregisterNode: return Self.lengthDelimited(2, invalid)
        case .getStatus: return Self.lengthDelimited(3, invalid)  // an unknown field
        case .submitJob:
            return self.chance(50)
                ? Self.lengthDelimited(3, invalid)
                : Self.lengthDelimited(2, Self.lengthDelimited(UInt64(self.pick([1, 2, 3])), invalid))
        case .runTask: return Self.lengthDelimited(2, Self.lengthDelimited(UInt64(self.pick([1, 3, 4, 5])), invalid))
        case .registerNode: return Self.lengthDelimited(2, Self.lengthDelimited(UInt64(self.pick([1, 2, 7, 8])), invalid))
        }
    }

    /// Fields whose wire type does not match the schema, huge varints, over-long lengths.
    mutating func badWireTypes() -> [UInt8] {
        switch self.next(upTo: 5) {
        case 0: return Self.lengthDelimited(1, [1, 2, 3])  // protocol_version as bytes
        case 1: return Self.varint(2 << 3) + Self.varint(UInt64.max)  // a message field as a varint
        case 2: return Self.varint(1 << 3) + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]  // 11-byte varint
        case 3: return Self.varint(2 << 3 | 2) + Self.varint(1 << 40) + [0]  // length past the end
        default: return Self.varint(UInt64(self.next(upTo: 1 << 29)) << 3 | self.next(upTo: 8))  // any tag, any wire type
        }
    }

    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
        return bytes
    }

    static func lengthDelimited(_ field: UInt64, _ payload: [UInt8]) -> [UInt8] {
        Self.varint(field << 3 | 2) + Self.varint(UInt64(payload.count)) + payload
    }
}
