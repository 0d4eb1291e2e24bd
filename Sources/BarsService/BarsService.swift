import Bars
import Bus
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Telemetry
import TickBusCore
import ZeroMQ

/// `tickbus bars`: trades (or upstream 1-second bars) from the bus in, bars out as
/// `B<label>.SYM` on a publisher of its own. One thread owns the subscriber and the
/// ``BarBuilder``; a bar closes when the wall clock passes its end plus the grace, even on a
/// quiet symbol. Gaps and publisher restarts on the input, and late input, are reported on
/// `S.<name>`.
public final class BarsService: Service, Sendable {
    public struct Configuration: Sendable {
        /// Bus endpoints to read trades from.
        public var input: [String]
        /// Endpoints to publish bars on.
        public var output: [String]
        public var intervals: [BarInterval]
        public var grace: Duration
        public var revisionWindow: Duration
        /// Process name: `S.<name>`, `H.<name>`.
        public var name: String
        /// What bars are built from.
        public var source: Source
        /// Flat bars at the last close for buckets without trades.
        public var fill: Bool
        /// CURVE for reading the bus (a client of its publisher); nil: plain.
        public var inputSecurity: CurveSecurity?
        /// CURVE for the bars publisher (a server); nil: plain.
        public var outputSecurity: CurveSecurity?
        /// How often the counters are exported through swift-metrics; nil: not exported.
        public var metricsInterval: Duration?

        public init(
            input: [String] = ["tcp://127.0.0.1:7700"], output: [String] = ["tcp://127.0.0.1:7702"],
            intervals: [BarInterval] = BarInterval.standard, grace: Duration = .seconds(2),
            revisionWindow: Duration = .seconds(900), name: String = "bars", source: Source = .trades, fill: Bool = false,
            inputSecurity: CurveSecurity? = nil, outputSecurity: CurveSecurity? = nil, metricsInterval: Duration? = nil
        ) {
            self.source = source
            self.fill = fill
            self.metricsInterval = metricsInterval
            self.inputSecurity = inputSecurity
            self.outputSecurity = outputSecurity
            self.input = input
            self.output = output
            self.intervals = intervals
            self.grace = grace
            self.revisionWindow = revisionWindow
            self.name = name
        }
    }

    /// The input bars are built from.
    public enum Source: String, Sendable, CaseIterable {
        /// `T.*`: trades, with Massive's condition rules.
        case trades
        /// `A.*`: upstream 1-second bars, resampled into longer ones.
        case secondBars = "bars"

        var filter: TopicFilter { try! TopicFilter(self == .trades ? "T." : "A.") }
    }

    /// What the service has done.
    public struct Counters: Sendable, Equatable {
        public var trades: UInt64 = 0
        /// Upstream 1-second bars taken in (`--source bars`).
        public var inputBars: UInt64 = 0
        /// Input bars flagged REVISION (not applied: the bar they revise is already merged).
        public var revisedInput: UInt64 = 0
        /// HISTORICAL input (backfills) is not aggregated: it would only revise old bars.
        public var historical: UInt64 = 0
        public var bars: UInt64 = 0
        public var revisions: UInt64 = 0
        public var lateTrades: UInt64 = 0
        public var gaps: UInt64 = 0
        public var restarts: UInt64 = 0
    }

    public let configuration: Configuration
    private let context: ZMQContext
    private let logger: Logger
    private let state = Mutex<(counters: Counters, endpoints: [String])>((Counters(), []))
    private let stopping = StopFlag()

    public init(configuration: Configuration, context: ZMQContext, logger: Logger) {
        self.configuration = configuration
        self.context = context
        self.logger = logger
    }

    public var counters: Counters { state.withLock { $0.counters } }

    /// The bar publisher's endpoints once bound.
    public var endpoints: [String] { state.withLock { $0.endpoints } }

    public func run() async throws {
        let publisher = try PublisherService(
            context: context, configuration: .init(name: configuration.name, endpoints: configuration.output, security: configuration.outputSecurity))
        defer { publisher.stop() }
        state.withLock { $0.endpoints = publisher.endpoints }
        logger.info("publishing bars", metadata: ["endpoints": "\(publisher.endpoints.joined(separator: " "))"])
        try await publisher.watching { [self] in
            try await runOnOwnThread(named: "bars", stop: stopping) { [self] in try aggregate(publisher) }
        }
    }


    /// Exports the counters (shared by the aggregation thread every 100 ms) and the publisher's
    /// through swift-metrics; docs/operations.md lists the names.
    private func export(_ c: Counters, _ metrics: SnapshotMetrics, _ publisher: PublisherService) {
        let bus = publisher.counters
        metrics.count("tickbus_bars_trades_total", total: c.trades)
        metrics.count("tickbus_bars_input_bars_total", total: c.inputBars)
        metrics.count("tickbus_bars_historical_total", total: c.historical)
        metrics.count("tickbus_bars_bars_total", total: c.bars)
        metrics.count("tickbus_bars_revisions_total", total: c.revisions)
        metrics.count("tickbus_bars_late_trades_total", total: c.lateTrades)
        metrics.count("tickbus_bars_input_gaps_total", total: c.gaps)
        metrics.count("tickbus_bars_input_restarts_total", total: c.restarts)
        metrics.count("tickbus_bus_published_total", total: bus.published)
        metrics.count("tickbus_bus_dropped_total", total: bus.dropped)
        metrics.count("tickbus_bus_heartbeats_total", total: bus.heartbeats)
        metrics.gauge("tickbus_bus_queued", Double(publisher.queued))
    }

    /// The aggregation thread: read trades, build bars, close them on time.
    private func aggregate(_ publisher: PublisherService) throws {
        let subscriber = try Subscriber(
            context: context,
            configuration: .init(endpoints: configuration.input, filters: [configuration.source.filter], security: configuration.inputSecurity))
        var builder = BarBuilder(
            intervals: configuration.intervals, grace: configuration.grace, revisionWindow: configuration.revisionWindow,
            fill: configuration.fill)
        let name = try Symbol(configuration.name)
        // Counted on this thread, shared with `counters` every 100 ms: no lock per trade.
        var counters = Counters()
        let emit: (Record) -> Void = { record in
            publisher.submit(record)
            counters.bars += 1
        }
        var nextClose = WallClock.nanoseconds()
        let metrics = configuration.metricsInterval.map { _ in SnapshotMetrics(dimensions: [("process", configuration.name)]) }
        var nextExport = nextClose
        var reportedLate: UInt64 = 0
        while !stopping.isSet {
            let event = try subscriber.next(timeout: .milliseconds(50))
            switch event {
            case .record(.trade(let trade)) where trade.header.flags.contains(.historical):
                counters.historical += 1
            case .record(.trade(let trade)):
                builder.add(trade, emit: emit)
                counters.trades += 1
            case .record(.bar(let bar)) where bar.header.flags.contains(.historical):
                counters.historical += 1
            case .record(.bar(let bar)) where bar.header.flags.contains(.revision):
                counters.revisedInput += 1
            case .record(.bar(let bar)) where bar.interval == .second:
                builder.add(bar, emit: emit)
                counters.inputBars += 1
            case .gap, .restart:
                if case .gap = event { counters.gaps += 1 } else { counters.restarts += 1 }
                report(publisher, name, .warning, #"{"event":"input","detail":\#(BusEventFormatter.json(event!))}"#)
            default:
                break
            }
            let now = WallClock.nanoseconds()
            if now >= nextClose {
                builder.close(upTo: now, emit: emit)
                nextClose = now + 100_000_000
                counters.revisions = builder.revisions
                counters.lateTrades = builder.lateTrades
                if let metrics, let interval = configuration.metricsInterval, now >= nextExport {
                    export(counters, metrics, publisher)
                    nextExport = now + interval.nanoseconds
                }
                let snapshot = counters
                state.withLock { $0.counters = snapshot }
                if counters.lateTrades > reportedLate {
                    let late = counters.lateTrades
                    report(publisher, name, .warning, #"{"event":"late_trades","count":\#(late - reportedLate),"total":\#(late)}"#)
                    reportedLate = counters.lateTrades
                }
            }
        }
    }

    private func report(_ publisher: PublisherService, _ name: Symbol, _ level: StatusLevel, _ json: String) {
        let now = WallClock.nanoseconds()
        publisher.submit(.status(Status(
            header: RecordHeader(market: .unknown, tsEvent: now, tsRecv: now, symbol: name), level: level, json: json)))
    }
}
