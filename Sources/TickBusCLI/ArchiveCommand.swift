import Archive
import ArchiveService
import ArgumentParser
import Bus
import Logging
import ServiceLifecycle
import TickBusCore
import ZeroMQ

struct ArchiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Write the bus's records to per-symbol monthly CSV files, crash-safe (docs/archive.md).",
        discussion: """
            Upstream bars go to <data-dir>/raw_1s/SYM/SYM_YYYY_MM.csv (raw_1min for minute bars), \
            bars built by `tickbus bars` to aggregated/<label>/SYM_YYYY_MM_<label>.csv, trades and \
            quotes to trades/SYM/ and quotes/SYM/. Files stay sorted by time with one row per bar \
            start (a REVISION replaces its row); rows reach the files every --flush-interval and at \
            shutdown; a restart after a crash repairs a torn last line. Status on S.<name>.
            """)

    @Argument(help: "Topics to archive (default: T. Q. A. AM. B*).") var topics: [String] = []
    @Option(name: .customLong("bus"), help: "Bus endpoints to read; repeatable (default: ingest's \(DefaultEndpoint.bus) and bars' \(DefaultEndpoint.bars)).")
    var input: [String] = []
    @Option(help: "Data directory.") var dataDir = "data"
    @Option(name: .customLong("publish"), help: "Endpoint for S.<name> and H.<name>; repeatable.")
    var output: [String] = [DefaultEndpoint.archiveStatus]
    @Option(help: "Seconds between writes to the files.") var flushInterval: Double = 1
    @Option(help: "Rows kept for unwritable files before the oldest are dropped.") var maxBufferedRows = 1_000_000
    @Option(help: "Process name for S.<name> and H.<name>.") var name = "archive"
    @OptionGroup(title: "Security") var security: SecurityOptions
    @OptionGroup(title: "Logs and metrics") var service: ServiceOptions

    func validate() throws {
        guard flushInterval > 0, flushInterval <= 60 else { throw ValidationError("--flush-interval must be in (0, 60] seconds") }
        guard maxBufferedRows > 0 else { throw ValidationError("--max-buffered-rows must be positive") }
        _ = try filters()
    }

    private func filters() throws -> [TopicFilter] {
        guard !topics.isEmpty else { return ArchiveConsumer.defaultFilters }
        return try topicFilters(topics)
    }

    func run() async throws {
        let (logger, metrics) = service.bootstrap(label: "tickbus.archive")
        let context = try ZMQContext()
        let inputs = input.isEmpty ? [DefaultEndpoint.bus, DefaultEndpoint.bars] : input
        let secured = try security.setUp(
            context: context,
            binds: inputs.map { Endpoint(parsing: $0, default: .connect) } + output.map { Endpoint(parsing: $0, default: .bind) },
            logger: logger)
        let service = ArchiveService(
            configuration: .init(
                input: inputs, filters: try filters(), output: output,
                writer: .init(directory: dataDir, maxBufferedRows: maxBufferedRows),
                flushInterval: .milliseconds(Int64(flushInterval * 1000)), name: name,
                inputSecurity: secured.client, outputSecurity: secured.server),
            context: context, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service)] + metricsServices(metrics, process: name, export: service.export), gracefulShutdownSignals: [.sigint, .sigterm],
            logger: logger))
        try await group.run()
        secured.authenticator?.stop()
    }
}
