// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

// The libraries: an import is internal unless marked `public import` (so C modules and NIO do not
// leak into the public interface), and a member is visible only from a module the file imports.
let librarySwiftSettings: [SwiftSetting] = swiftSettings + [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "DistributedImaging",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "DistributedImaging", targets: ["DistributedImaging"]),
        .library(name: "DistributedImagingGRPC", targets: ["DistributedImagingGRPC"]),
        .library(name: "DistributedImagingTestKit", targets: ["DistributedImagingTestKit"]),
        .executable(name: "dip-client", targets: ["dip-client"]),
        .executable(name: "dip-server", targets: ["dip-server"]),
        .executable(name: "dip-node", targets: ["dip-node"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/sqlite-nio", from: "1.13.2"),
    ],
    targets: [
        // C face of libpng and libjpeg-turbo. Every setjmp/longjmp stays in here.
        .target(
            name: "CImageCodec",
            linkerSettings: [.linkedLibrary("png"), .linkedLibrary("jpeg"), .linkedLibrary("z")]
        ),
        // Hot 8-bit filter kernels with SSE2 and AVX2 code paths chosen at run time.
        .target(name: "CImageKernels"),
        // A compute limit shared by the dip-node processes of one machine (System V semaphore).
        .target(name: "CHostGate"),
        .target(
            name: "DistributedImaging",
            dependencies: [
                "CImageCodec",
                "CImageKernels",
                "CHostGate",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
            ],
            swiftSettings: librarySwiftSettings
        ),
        // The network transport: grpc-swift 2 over SwiftNIO HTTP/2. `Protos/` is the wire
        // contract; `Generated/` is committed (scripts/generate-protos.sh regenerates it).
        .target(
            name: "DistributedImagingGRPC",
            dependencies: [
                "DistributedImaging",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            exclude: ["Protos"],
            swiftSettings: librarySwiftSettings
        ),
        // The transport conformance suite, for any transport's tests (Swift Testing).
        .target(
            name: "DistributedImagingTestKit",
            dependencies: ["DistributedImaging"],
            swiftSettings: librarySwiftSettings
        ),
        // What the three commands share: security flags, console output, logging set-up.
        .target(
            name: "DIPCommandSupport",
            dependencies: [
                "DistributedImaging",
                "DistributedImagingGRPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: librarySwiftSettings
        ),
        .executableTarget(
            name: "dip-client",
            dependencies: [
                "DIPCommandSupport",
                "DistributedImaging",
                "DistributedImagingGRPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "dip-server",
            dependencies: [
                "DIPCommandSupport",
                "DistributedImaging",
                "DistributedImagingGRPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "dip-node",
            dependencies: [
                "DIPCommandSupport",
                "DistributedImaging",
                "DistributedImagingGRPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Per-task overhead of the gRPC transport over loopback (Docs/Benchmarks.md).
        .executableTarget(
            name: "dip-grpc-bench",
            dependencies: [
                "DistributedImaging",
                "DistributedImagingGRPC",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Benchmarks/grpc-bench",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "dip-bench",
            dependencies: [
                "DistributedImaging",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/dip-bench",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "EmbeddedCluster",
            dependencies: ["DistributedImaging"],
            path: "Examples/EmbeddedCluster",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "CustomFilter",
            dependencies: ["DistributedImaging"],
            path: "Examples/CustomFilter",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "RemoteClient",
            dependencies: ["DistributedImaging", "DistributedImagingGRPC"],
            path: "Examples/RemoteClient",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DistributedImagingTests",
            dependencies: [
                "DistributedImaging",
                "DistributedImagingTestKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            resources: [.copy("Resources")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DistributedImagingGRPCTests",
            dependencies: [
                "DistributedImaging",
                "DistributedImagingGRPC",
                "DistributedImagingTestKit",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
