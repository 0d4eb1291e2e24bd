// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "tickbus",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tickbus", targets: ["TickBusCLI"]),
        .library(name: "TickBusCore", targets: ["TickBusCore"]),
        .library(name: "ZeroMQ", targets: ["ZeroMQ"]),
        .library(name: "Bus", targets: ["Bus"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CZeroMQ",
            pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]
        ),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
        .target(name: "TickBusCore"),
        .target(
            name: "Bus",
            dependencies: [
                "ZeroMQ", "TickBusCore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "Benchmarks", dependencies: ["Bus", "TickBusCore", "ZeroMQ"]),
        .executableTarget(
            name: "TickBusCLI",
            dependencies: [
                "Benchmarks", "Bus", "TickBusCore", "ZeroMQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
        .testTarget(name: "TickBusCoreTests", dependencies: ["TickBusCore"]),
        .testTarget(name: "BusTests", dependencies: ["Bus", "ZeroMQ", "TickBusCore"]),
        .testTarget(name: "TickBusCLITests", dependencies: ["Bus", "TickBusCore", "ZeroMQ"]),
    ]
)
