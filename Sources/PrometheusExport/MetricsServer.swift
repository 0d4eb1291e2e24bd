import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// Serves the Prometheus text of a registry at `GET /metrics` over HTTP (Hummingbird).
public struct MetricsServer: Service {
    public let registry: PrometheusCollectorRegistry
    public let host: String
    public let port: Int
    private let logger: Logger
    private let onReady: @Sendable (Int) async -> Void

    /// `port` 0 picks a free one, passed to `onReady`.
    public init(
        registry: PrometheusCollectorRegistry, host: String = "127.0.0.1", port: Int, logger: Logger,
        onReady: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.registry = registry
        self.host = host
        self.port = port
        self.logger = logger
        self.onReady = onReady
    }

    /// Makes swift-metrics record into a new Prometheus registry and returns it. Once per process.
    public static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }

    public func run() async throws {
        let router = Router()
        let registry = registry
        router.get("metrics") { _, _ -> Response in
            var buffer = ByteBuffer()
            buffer.writeBytes(registry.emitToBuffer())
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: buffer))
        }
        let logger = logger, onReady = onReady
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("metrics on http://\(host):\(port)/metrics")
                await onReady(port)
            },
            logger: quiet)
        // As a service of the caller's group: `runService()` would start a group of its own that
        // also catches SIGTERM, end early, and make the caller's group fail the shutdown.
        try await app.run()
    }
}
