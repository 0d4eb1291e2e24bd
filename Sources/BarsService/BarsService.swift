import Bars
import Bus
import Journal
import Logging
import Telemetry
import TickBusCore
import ZeroMQ

/// `tickbus bars`: trades (or upstream 1-second bars) from the bus in, bars out as
/// `B<label>.SYM` on a publisher of its own. A bar closes when the wall clock passes its end
/// plus the grace, even on a quiet symbol. Late input is reported on `S.<name>`, and (by the
/// ``ConsumerService``) gaps and publisher restarts on the input.
public typealias BarsService = ConsumerService<BarsConsumer>

extension ConsumerService where Consumer == BarsConsumer {
    public convenience init(configuration: BarsConsumer.Configuration, context: ZMQContext, logger: Logger) {
        self.init(
            configuration: .init(
                name: configuration.name,
                input: .init(endpoints: configuration.input, filters: [configuration.source.filter], security: configuration.inputSecurity),
                output: configuration.output, outputSecurity: configuration.outputSecurity, tick: .milliseconds(100),
                journal: configuration.journal, replayEndpoints: configuration.replayEndpoints),
            context: context, logger: logger
        ) { context in BarsConsumer(configuration: configuration, context: context) }
    }
}

/// The bar engine on the bus: a ``BarBuilder`` fed with the input, its bars published.
public struct BarsConsumer: BusConsumer {
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
        /// Where the bars published are kept (docs/journal.md); nil: no journal.
        public var journal: JournalWriter.Configuration?
        /// Where the journal is served to replay clients (docs/replay.md); empty: nowhere.
        public var replayEndpoints: ReplayEndpoints

        public init(
            input: [String] = [DefaultEndpoint.bus], output: [String] = [DefaultEndpoint.bars],
            intervals: [BarInterval] = BarInterval.standard, grace: Duration = .seconds(2),
            revisionWindow: Duration = .seconds(900), name: String = "bars", source: Source = .trades, fill: Bool = false,
            inputSecurity: CurveSecurity? = nil, outputSecurity: CurveSecurity? = nil, journal: JournalWriter.Configuration? = nil,
            replayEndpoints: ReplayEndpoints = []
        ) {
            self.journal = journal
            self.replayEndpoints = replayEndpoints
            self.source = source
            self.fill = fill
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

    /// What the bar engine has done.
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
    }

    public static let initialCounters = Counters()
    public static let metricsKind = "bars"

    private enum Event: String, StatusEventName {
        /// Trades that came after their bar closed (counted as revisions when within the window).
        case lateTrades = "late_trades"
    }

    public private(set) var counters = Counters()
    private var builder: BarBuilder
    private let context: ConsumerContext
    private var reportedLate: UInt64 = 0

    init(configuration: Configuration, context: ConsumerContext) {
        self.context = context
        builder = BarBuilder(
            intervals: configuration.intervals, grace: configuration.grace, revisionWindow: configuration.revisionWindow,
            fill: configuration.fill)
    }

    public mutating func consume(_ record: Record) {
        switch record {
        case .trade(let trade) where trade.header.flags.contains(.historical):
            counters.historical += 1
        case .trade(let trade):
            building { $0.add(trade, emit: $1) }
            counters.trades += 1
        case .bar(let bar) where bar.header.flags.contains(.historical):
            counters.historical += 1
        case .bar(let bar) where bar.header.flags.contains(.revision):
            counters.revisedInput += 1
        case .bar(let bar) where bar.interval == .second:
            building { $0.add(bar, emit: $1) }
            counters.inputBars += 1
        default:
            break
        }
    }

    /// Closes the bars whose end plus grace has passed; reports new late trades.
    public mutating func tick(now: Int64) {
        building { $0.close(upTo: now, emit: $1) }
        counters.revisions = builder.revisions
        counters.lateTrades = builder.lateTrades
        if counters.lateTrades > reportedLate {
            let late = counters.lateTrades, count = late - reportedLate
            context.report(.warning, Event.lateTrades) {
                $0.add("count", raw: String(count))
                $0.add("total", raw: String(late))
            }
            reportedLate = late
        }
    }

    /// Runs `body` on the builder with an emit that publishes each bar and counts it.
    private mutating func building(_ body: (inout BarBuilder, (Record) -> Void) -> Void) {
        var emitted: UInt64 = 0
        let publisher = context.publisher
        body(&builder) { record in
            publisher?.submit(record)
            emitted += 1
        }
        counters.bars += emitted
    }

    public static func export(_ c: Counters, to metrics: SnapshotMetrics) {
        metrics.count("tickbus_bars_trades_total", total: c.trades)
        metrics.count("tickbus_bars_input_bars_total", total: c.inputBars)
        metrics.count("tickbus_bars_historical_total", total: c.historical)
        metrics.count("tickbus_bars_bars_total", total: c.bars)
        metrics.count("tickbus_bars_revisions_total", total: c.revisions)
        metrics.count("tickbus_bars_late_trades_total", total: c.lateTrades)
    }
}
