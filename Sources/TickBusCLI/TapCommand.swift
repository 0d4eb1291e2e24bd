import ArgumentParser
import Bus
import Journal
import Logging
import ServiceLifecycle
import TickBusCore
import ZeroMQ

struct TapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tap",
        abstract: "Print records from the bus, one per line, and report gaps, restarts and silence.",
        discussion: """
            TOPIC is exact (T.AAPL is AAPL's trades, not AAPLW's), a kind prefix (T. or T.*), a \
            symbol prefix (T.AA*), or * for everything (the default). Lines starting with !! \
            (or JSON objects with an "event" key) report sequence gaps, publisher restarts, \
            silent publishers and invalid messages.
            """)

    @Option(name: [.customLong("bus"), .customLong("endpoint")], help: "Bus endpoint to read; repeat for several publishers.")
    var endpoints: [String] = [DefaultEndpoint.bus]

    @Flag(help: "One JSON object per line.")
    var json = false

    @Option(help: "Exit after this many records.")
    var count: Int?

    @Option(help: "Report a publisher silent after this many seconds without a heartbeat.")
    var heartbeatTimeout: Double = 3

    @Flag(help: "Fill gaps and publisher restarts from the publishers' journals (replay beside each bus endpoint).")
    var recover = false

    @Option(help: "Replay endpoint to recover from, instead of beside each bus endpoint; repeatable (implies --recover).")
    var replay: [String] = []

    @Option(help: "Replay from this time first (09:30 New York time today, 2026-12-03T14:30:00Z, or start: the journal's beginning), then live (implies --recover).")
    var since: String?

    @Argument(help: "Topics to print (default: everything).")
    var topics: [String] = []

    @OptionGroup(title: "Security") var security: SecurityOptions
    @OptionGroup(title: "Logs") var log: LogOptions

    func validate() throws {
        _ = try topicFilters(topics)
        if heartbeatTimeout <= 0 { throw ValidationError("--heartbeat-timeout must be positive") }
        _ = try start()
        if (recover || since != nil) && replay.isEmpty && replayEndpoints.isEmpty {
            throw ValidationError("no replay endpoint beside \(endpoints.joined(separator: ", ")): give --replay")
        }
    }

    /// Where recovery starts: nil for live only.
    private func start() throws -> JournalStart? {
        guard let since else { return nil }
        return since == "start" ? .beginning : .time(try SinceTime.parse(since))
    }

    /// The replay endpoints: --replay, else beside each bus endpoint.
    private var replayEndpoints: [String] {
        replay.isEmpty ? endpoints.compactMap { DefaultEndpoint.replay(beside: Endpoint(parsing: $0, default: .connect).address) } : replay
    }

    func run() async throws {
        let logger = log.bootstrap(label: "tickbus.tap")
        let context = try ZMQContext()
        let secured = try security.setUp(
            context: context, binds: endpoints.map { Endpoint(parsing: $0, default: .connect) }, logger: logger)
        let configuration = Subscriber.Configuration(
            endpoints: endpoints, filters: try topicFilters(topics),
            heartbeatTimeout: .milliseconds(Int64(heartbeatTimeout * 1000)), security: secured.client ?? secured.server,
            recovery: recover || since != nil || !replay.isEmpty ? .init(endpoints: replayEndpoints, start: try start()) : nil)
        let format: @Sendable (BusEvent) -> String? = json ? BusEventFormatter.json : BusEventFormatter.text
        let tap = TapService(configuration: configuration, context: context, count: count, format: format)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: tap, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigint, .sigterm], logger: logger))
        try await group.run()
        secured.authenticator?.stop()
    }
}
