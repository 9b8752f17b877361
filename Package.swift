// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "DistributedImaging",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "DistributedImaging", targets: ["DistributedImaging"]),
        .executable(name: "dip-client", targets: ["dip-client"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // C face of libpng and libjpeg-turbo. Every setjmp/longjmp stays in here.
        .target(
            name: "CImageCodec",
            linkerSettings: [.linkedLibrary("png"), .linkedLibrary("jpeg"), .linkedLibrary("z")]
        ),
        // Hot 8-bit filter kernels with SSE2 and AVX2 code paths chosen at run time.
        .target(name: "CImageKernels"),
        .target(
            name: "DistributedImaging",
            dependencies: [
                "CImageCodec",
                "CImageKernels",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "dip-client",
            dependencies: [
                "DistributedImaging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
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
        .testTarget(
            name: "DistributedImagingTests",
            dependencies: [
                "DistributedImaging",
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Resources")],
            swiftSettings: swiftSettings
        ),
    ]
)
