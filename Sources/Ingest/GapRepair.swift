import Bus
import Logging
import Massive
import MassiveREST
import TickBusCore

/// After a reconnection, backfills the window ingest missed for every subscribed bar channel
/// (`A`/`AM` and their crypto and forex forms), so subscribers can fill the hole from the bus.
/// A wildcard (`A.*`) is repaired for the symbols ingest has seen on that channel.
final class GapRepair: Sendable {
    let jobs: BackfillJobs
    let subscriptions: Subscriptions
    let lastValues: LastValueCache?
    let market: Market
    /// How long after a bar's end the upstream REST API is asked for it.
    let delay: Duration
    let logger: Logger

    init(
        jobs: BackfillJobs, subscriptions: Subscriptions, lastValues: LastValueCache?, market: Market, delay: Duration,
        logger: Logger
    ) {
        self.jobs = jobs
        self.delay = delay
        self.subscriptions = subscriptions
        self.lastValues = lastValues
        self.market = market
        self.logger = logger
    }

    /// Starts one backfill per bar channel and symbol for `start…end` (ns since the epoch).
    func repair(from start: Int64, to end: Int64) {
        for (symbol, kind) in targets() {
            let unit: Int64 = (kind == .secondBars ? 1 : 60) * 1_000_000_000
            let barStart = start - start % unit
            do {
                var request = try BackfillRequest(
                    symbol: symbol, kind: kind, from: .instant(nanoseconds: barStart), to: .instant(nanoseconds: end),
                    market: market, reason: "gap_repair")
                // The last bar of the window ends within one unit of `end`.
                request.notBefore = end + unit + delay.nanoseconds
                let id = try jobs.start(request)
                logger.info("gap repair queued", metadata: ["job": "\(id)", "symbol": "\(symbol)", "timespan": "\(kind.timespan)"])
            } catch {
                logger.warning("gap repair not possible", metadata: ["symbol": "\(symbol)", "error": "\(error)"])
            }
        }
    }

    /// (symbol, bar kind) for every subscribed bar channel.
    func targets() -> [(String, HistoryKind)] {
        var targets: [(String, HistoryKind)] = []
        for param in subscriptions.stream.subscriptions {
            guard let dot = param.firstIndex(of: ".") else { continue }
            let channel = param[..<dot], ticker = String(param[param.index(after: dot)...])
            let kind = MassiveChannel.named(channel, in: market)?.kind
            guard kind == .secondBar || kind == .minuteBar, let kind else { continue }
            let bars: HistoryKind = kind == .secondBar ? .secondBars : .minuteBars
            let symbols = ticker == "*" ? (lastValues?.symbols(of: kind).map(\.description) ?? []) : [ticker]
            for symbol in symbols where !targets.contains(where: { $0.0 == symbol && $0.1 == bars }) {
                targets.append((symbol, bars))
            }
        }
        return targets
    }
}
