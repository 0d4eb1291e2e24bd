import ArgumentParser
import Bus
import BarsService
import Logging
import ServiceLifecycle
import TickBusCore
import ZeroMQ

struct BarsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bars",
        abstract: "Build bars from the bus's trades and publish them as B<label>.SYM (docs/bars.md).",
        discussion: """
            Reads T.* from the bus, applies Massive's trade-condition update rules, and publishes \
            each bar when the wall clock passes its end plus --grace (quiet symbols too). A trade \
            for a bar closed less than --revision-window ago publishes it again with REVISION set; \
            an older one goes out alone as a LATE addendum. --source bars resamples the upstream \
            1-second bars (A.*) instead. Input gaps, restarts and late input go out on S.<name>.
            """)

    @Option(name: .customLong("bus"), help: "Bus endpoint to read trades from; repeatable.")
    var input: [String] = [DefaultEndpoint.bus]
    @Option(name: .customLong("publish"), help: "Endpoint to publish bars on; repeatable (>tcp://host:port connects to a proxy).")
    var output: [String] = [DefaultEndpoint.bars]
    @Option(help: "Bar lengths, comma-separated (default: 1s…1d, or 5s…1d with --source bars).")
    var intervals = ""
    @Option(help: "Seconds after a bar's end before it is published.") var grace: Double = 2
    @Option(help: "Seconds after a bar's end during which a late trade revises it.") var revisionWindow: Double = 900
    @Option(help: "Process name for S.<name> and H.<name>.") var name = "bars"
    @Option(help: "Build from `trades` (T.*) or resample the upstream 1-second `bars` (A.*).")
    var source: BarsConsumer.Source = .trades
    @Flag(help: "Publish a flat bar at the last close for an interval without trades.") var fill = false
    @OptionGroup(title: "Journal") var journal: JournalOptions
    @OptionGroup(title: "Security") var security: SecurityOptions
    @OptionGroup(title: "Logs and metrics") var service: ServiceOptions

    func validate() throws {
        guard grace >= 0, revisionWindow >= 0 else { throw ValidationError("--grace and --revision-window must be ≥ 0") }
        let intervals = try parsedIntervals()
        if source == .secondBars, let short = intervals.first(where: { $0.seconds < 2 }) {
            throw ValidationError("--source bars resamples 1-second bars: \(short.label) is not longer than that")
        }
    }

    private func parsedIntervals() throws -> [BarInterval] {
        guard !intervals.isEmpty else {
            return source == .trades ? BarInterval.standard : BarInterval.standard.filter { $0.seconds > 1 }
        }
        return try intervals.split(separator: ",").map { label in
            guard let interval = BarInterval(label: label.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("unknown bar length \"\(label)\": use labels like 1s, 15s, 1m, 5m, 1h, 1d")
            }
            return interval
        }
    }

    func run() async throws {
        let (logger, metrics) = service.bootstrap(label: "tickbus.bars")
        let context = try ZMQContext()
        let replayList = journal.replayEndpoints(beside: output)
        let secured = try security.setUp(
            context: context,
            binds: input.map { Endpoint(parsing: $0, default: .connect) } + (output + replayList.endpoints).map { Endpoint(parsing: $0, default: .bind) },
            logger: logger)
        let service = BarsService(
            configuration: .init(
                input: input, output: output, intervals: try parsedIntervals(),
                grace: .milliseconds(Int64(grace * 1000)), revisionWindow: .milliseconds(Int64(revisionWindow * 1000)),
                name: name, source: source, fill: fill, inputSecurity: secured.client, outputSecurity: secured.server,
                journal: try journal.configuration(name: name), replayEndpoints: replayList),
            context: context, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service)] + metricsServices(metrics, process: name, export: service.export), gracefulShutdownSignals: [.sigint, .sigterm], logger: logger))
        try await group.run()
        secured.authenticator?.stop()
    }
}

extension BarsConsumer.Source: ExpressibleByArgument {}
