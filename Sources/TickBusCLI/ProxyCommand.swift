import ArgumentParser
import Bus
import Foundation
import Logging
import ServiceLifecycle
import Telemetry
import ZeroMQ

struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Forward the bus between hosts: publishers in (XSUB), subscribers out (XPUB).",
        discussion: """
            ZeroMQ's own forwarder: records pass untouched, so sequence numbers, epochs and \
            heartbeats reach subscribers as the publishers sent them, and subscriptions (exact \
            topics too) flow back up to the publishers. --frontend connects to a publisher \
            (tickbus ingest or bars on another host); --frontend-bind waits for publishers that \
            connect (their --bus '>tcp://proxy:7704'); --backend binds where subscribers connect. \
            Any endpoint may start with @ (bind) or > (connect). Stops cleanly on SIGINT/SIGTERM. \
            See docs/bus.md and deploy/README.md.
            """)

    @Option(name: .customLong("frontend"), help: "Publisher endpoint to connect to; repeatable.")
    var frontend: [String] = []
    @Option(name: .customLong("frontend-bind"), help: "Endpoint to bind for publishers that connect; repeatable.")
    var frontendBind: [String] = []
    @Option(name: .customLong("backend"), help: "Endpoint to bind for subscribers; repeatable (default \(DefaultEndpoint.proxyBackend)).")
    var backend: [String] = []
    @Option(help: "Messages queued per peer on each side before libzmq drops.") var hwm: Int32 = 100_000
    @OptionGroup(title: "Security") var security: SecurityOptions
    @OptionGroup(title: "Logs and metrics") var options: ServiceOptions

    func validate() throws {
        if frontend.isEmpty && frontendBind.isEmpty {
            throw ValidationError("give at least one --frontend (a publisher to connect to) or --frontend-bind")
        }
        if hwm < 0 { throw ValidationError("--hwm must be 0 (unlimited) or more") }
    }

    var frontendEndpoints: [Endpoint] {
        frontend.map { Endpoint(parsing: $0, default: .connect) } + frontendBind.map { Endpoint(.bind, $0.hasPrefix("@") ? String($0.dropFirst()) : $0) }
    }

    var backendEndpoints: [Endpoint] {
        (backend.isEmpty ? [DefaultEndpoint.proxyBackend] : backend).map { Endpoint(parsing: $0, default: .bind) }
    }

    func run() async throws {
        let (logger, metrics) = options.bootstrap(label: "tickbus.proxy")
        let context = try ZMQContext()
        let frontend = frontendEndpoints, backend = backendEndpoints
        let secured = try security.setUp(context: context, binds: frontend + backend, logger: logger)
        // The frontend is a CURVE client of the publishers when --curve-server-key is given (or a
        // server when it binds); the backend is a CURVE server whenever this proxy has a key.
        let frontendSecurity = frontend.contains { $0.action == .bind } ? secured.server : secured.client
        let proxy = try BusProxy(context: context, configuration: .init(
            frontend: frontend, backend: backend, highWaterMark: hwm,
            frontendSecurity: frontendSecurity, backendSecurity: secured.server))
        let service = ProxyService(proxy: proxy, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service)] + metricsServices(metrics, process: "proxy", export: service.export),
            gracefulShutdownSignals: [.sigint, .sigterm], logger: logger))
        try await group.run()
        secured.authenticator?.stop()
    }
}

/// Runs a ``BusProxy`` on a thread of its own until graceful shutdown.
final class ProxyService: Service, Sendable {
    let proxy: BusProxy
    let logger: Logger

    init(proxy: BusProxy, logger: Logger) {
        self.proxy = proxy
        self.logger = logger
    }

    func run() async throws {
        let proxy = proxy, logger = logger
        try await withGracefulShutdownHandler {
            try await Self.forward(proxy, logger)
        } onGracefulShutdown: {
            proxy.terminate()
        }
        logger.info("proxy stopped")
    }

    /// The proxy's own statistics (asked over its control socket) as counters.
    func export(to metrics: SnapshotMetrics) {
        guard let s = proxy.statistics() else { return }
        metrics.count("tickbus_proxy_frontend_messages_in_total", total: s.frontendMessagesIn)
        metrics.count("tickbus_proxy_frontend_bytes_in_total", total: s.frontendBytesIn)
        metrics.count("tickbus_proxy_backend_messages_out_total", total: s.backendMessagesOut)
        metrics.count("tickbus_proxy_backend_bytes_out_total", total: s.backendBytesOut)
        metrics.count("tickbus_proxy_subscription_messages_total", total: s.backendMessagesIn)
    }

    private static func forward(_ proxy: BusProxy, _ logger: Logger) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                continuation.resume(with: Result {
                    try proxy.run { frontend, backend in
                        logger.info("proxy forwarding", metadata: [
                            "frontend": "\(frontend.map(\.description).joined(separator: " "))",
                            "backend": "\(backend.map(\.description).joined(separator: " "))",
                        ])
                    }
                })
            }
            thread.name = "proxy"
            thread.start()
        }
    }
}
