import ArgumentParser
import Logging
import Prometheus
import ServiceLifecycle
import PrometheusExport
import Telemetry

/// Logging options of every command that logs (docs/operations.md).
struct LogOptions: ParsableArguments {
    @Option(help: "Log lines as text or json (one JSON object per line), on stderr.")
    var logFormat: LogFormat = .text
    @Option(help: "Least important level logged: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    /// Installs the log handler and returns the process's logger.
    func bootstrap(label: String) -> Logger {
        logFormat.bootstrap(level: logLevel)
        return Logger(label: label)
    }
}

/// Logging and metrics options shared by every long-running service (docs/operations.md).
struct ServiceOptions: ParsableArguments {
    @OptionGroup var log: LogOptions
    @Option(help: "Serve Prometheus metrics at http://127.0.0.1:PORT/metrics (0: any free port; default: none).")
    var metricsPort: Int?

    func validate() throws {
        if let metricsPort, !(0...65535).contains(metricsPort) { throw ValidationError("--metrics-port must be 0...65535") }
    }

    /// Installs the log handler and, with --metrics-port, the Prometheus registry; returns the
    /// process's logger and the metrics server to run beside the process's services (nil
    /// without --metrics-port).
    func bootstrap(label: String) -> (Logger, MetricsServer?) {
        let logger = log.bootstrap(label: label)
        guard let metricsPort else { return (logger, nil) }
        return (logger, MetricsServer(registry: MetricsServer.bootstrap(), port: metricsPort, logger: logger))
    }
}

extension LogFormat: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}

/// The metrics server and, beside it, a ``CounterExporter`` calling `export` every second for
/// counters the process keeps itself; nothing without a metrics server.
func metricsServices(
    _ server: MetricsServer?, process: String, export: @escaping @Sendable (SnapshotMetrics) -> Void
) -> [ServiceGroupConfiguration.ServiceConfiguration] {
    guard let server else { return [] }
    return [.init(service: server), .init(service: CounterExporter(process: process, interval: .seconds(1), snapshot: export))]
}
