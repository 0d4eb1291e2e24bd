// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "tickbus",
    // Linux only: the code calls Glibc (sockets, files, clocks) directly; see the README.
    products: [
        .executable(name: "tickbus", targets: ["TickBusCLI"]),
        .library(name: "TickBusCore", targets: ["TickBusCore"]),
        .library(name: "ZeroMQ", targets: ["ZeroMQ"]),
        .library(name: "Bus", targets: ["Bus"]),
        // Fuzz targets of the parsers of untrusted input (docs/fuzzing.md; `make fuzz`).
        .executable(name: "tickbus-fuzz", targets: ["TickBusFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CZeroMQ",
            pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]
        ),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
        // zlib's crc32 for the journal's checksums.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // The JSON scanner, field table and unescaper every JSON reader uses; no dependencies.
        .target(name: "JSONText"),
        .target(name: "TickBusCore", dependencies: ["JSONText"]),
        // The journal: every published message kept in files (docs/journal.md).
        .target(name: "Journal", dependencies: ["CZlib", "TickBusCore"]),
        .target(
            name: "Bus",
            dependencies: [
                "Journal", "Telemetry", "TickBusCore", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Massive",
            dependencies: [
                "JSONText", "TickBusCore",
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "MassiveREST",
            dependencies: [
                "JSONText", "Massive", "TickBusCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Logs and counters for every service: swift-log and swift-metrics only.
        .target(
            name: "Telemetry",
            dependencies: [
                "TickBusCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The Prometheus endpoint (an HTTP server): only the executable links it.
        .target(
            name: "PrometheusExport",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(name: "Archive", dependencies: ["TickBusCore"]),
        .target(name: "KDB", dependencies: ["TickBusCore"]),
        .target(
            name: "KDBService",
            dependencies: [
                "Bus", "KDB", "Telemetry", "TickBusCore", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(name: "Bars", dependencies: ["TickBusCore"]),
        .target(
            name: "BarsService",
            dependencies: [
                "Bars", "Bus", "Journal", "Telemetry", "TickBusCore", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ArchiveService",
            dependencies: [
                "Archive", "Bus", "Telemetry", "TickBusCore", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "History",
            dependencies: [
                "Archive", "Bars", "MassiveREST", "TickBusCore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Simulator",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Control",
            dependencies: [
                "TickBusCore", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Ingest",
            dependencies: [
                "Bus", "Control", "Journal", "Massive", "MassiveREST", "Telemetry", "TickBusCore", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Benchmarks",
            dependencies: [
                "Archive", "Bars", "Bus", "Control", "Ingest", "Journal", "KDB", "KDBService", "Massive", "MassiveREST", "TickBusCore", "ZeroMQ",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "TickBusCLI",
            dependencies: [
                "Archive", "ArchiveService", "Bars", "BarsService", "Benchmarks", "Bus", "Control", "History", "Ingest", "Journal", "KDB", "KDBService", "Massive", "MassiveREST", "PrometheusExport", "Simulator", "Telemetry", "TickBusCore", "ZeroMQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "FuzzTargets",
            dependencies: ["Archive", "Control", "Ingest", "Journal", "KDB", "Massive", "MassiveREST", "TickBusCore"]
        ),
        .executableTarget(name: "TickBusFuzz", dependencies: ["FuzzTargets"]),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ", "TestSupport"]),
        .testTarget(name: "TickBusCoreTests", dependencies: ["TickBusCore", "TestSupport"]),
        .testTarget(name: "JournalTests", dependencies: ["Journal", "TickBusCore", "TestSupport"]),
        .testTarget(name: "BusTests", dependencies: ["Bus", "Journal", "ZeroMQ", "TickBusCore", "TestSupport"]),
        .testTarget(name: "ControlTests", dependencies: ["Control", "TickBusCore", "ZeroMQ", "TestSupport"]),
        .testTarget(name: "TickBusCLITests", dependencies: ["Archive", "Bus", "Journal", "TickBusCore", "ZeroMQ", "TestSupport"]),
        .testTarget(name: "MassiveTests", dependencies: ["Massive", "TickBusCore"]),
        .testTarget(
            name: "IngestTests",
            dependencies: [
                "Bars", "BarsService", "Bus", "Control", "Ingest", "MassiveREST", "Massive", "Simulator", "TickBusCore", "ZeroMQ",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "ArchiveTests", dependencies: ["Archive", "TickBusCore"]),
        .testTarget(name: "FuzzTests", dependencies: ["FuzzTargets"]),
        .testTarget(
            name: "KDBTests",
            dependencies: [
                "KDB", "KDBService", "TickBusCore", "TestSupport", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "TelemetryTests",
            dependencies: [
                "PrometheusExport", "Telemetry",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(
            name: "BarsTests",
            dependencies: [
                "Archive", "Bars", "Massive", "Simulator", "TickBusCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "HistoryTests",
            dependencies: ["Archive", "Bars", "History", "MassiveREST", "Simulator", "TickBusCore"],
            exclude: ["pandas_resample.py"]
        ),
        .testTarget(
            name: "MassiveRESTTests",
            dependencies: ["MassiveREST", "Massive", "Simulator", "TickBusCore"]
        ),
        .testTarget(
            name: "SimulatorTests",
            dependencies: [
                "Simulator",
                .product(name: "WSClient", package: "swift-websocket"),
            ]
        ),
    ]
)
