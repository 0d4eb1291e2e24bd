import Control
import MassiveREST
import TickBusCore

/// What a backfill fetches: `second`, `minute` and `day` bars, or `trade`s and `quote`s.
public enum BackfillTimespan: String, Sendable, CaseIterable {
    case second, minute, day, trade, quote

    /// The longest range one backfill may cover, in days: what one job fetches in reasonable
    /// time and memory. Longer ranges are refused with `bad_range`; split them.
    public var maxDays: Int64 {
        switch self {
        case .second: 31
        case .minute: 731
        case .day: 36_525
        case .trade, .quote: 7
        }
    }

    /// The Massive data this timespan fetches.
    var kind: HistoryKind {
        switch self {
        case .second: .secondBars
        case .minute: .minuteBars
        case .day: .dayBars
        case .trade: .trades
        case .quote: .quotes
        }
    }
}

/// A validated backfill: a symbol (as the bus carries it), a timespan and an inclusive range.
public struct BackfillRequest: Sendable {
    public let query: HistoryQuery
    public let timespan: BackfillTimespan
    /// `request` (from `ctl`) or `gap_repair` (after a reconnection).
    public let reason: String
    /// Do not fetch before this wall-clock time (ns): the upstream bars of a window that just
    /// ended are not complete at once.
    public var notBefore: Int64?

    public var symbol: String { query.symbol.description }
    public var from: HistoryBound { query.from }
    public var to: HistoryBound { query.to }

    public init(
        symbol: String, timespan: BackfillTimespan, from: HistoryBound, to: HistoryBound, market: Market, reason: String
    ) throws(ControlError) {
        do {
            query = try HistoryQuery(symbol: symbol, market: market, kind: timespan.kind, from: from, to: to)
        } catch {
            switch error {
            case .badSymbol: throw ControlError(.badSymbol, error.description)
            case .fromAfterTo: throw ControlError(.badRange, error.description)
            case .badTime: throw ControlError(.badDate, error.description)
            default: throw ControlError(.badField, error.description)
            }
        }
        // Both ends lie in CalendarDate.years, but 1678 to 2261 is more ns than an Int64 holds.
        let (span, overflow) = to.latest.subtractingReportingOverflow(from.earliest)
        let days = span / 86_400_000_000_000
        guard !overflow, days <= timespan.maxDays else {
            throw ControlError(
                .badRange,
                "\(overflow ? "over 100,000" : String(days)) days of \(timespan.rawValue) data in one backfill; the limit is \(timespan.maxDays) days: split the range")
        }
        self.timespan = timespan
        self.reason = reason
    }

    /// Reads `symbol`, `from`, `to` and `timespan` (default `minute`) from a `backfill` request.
    init(_ request: ControlRequest, market: Market) throws(ControlError) {
        let timespanText = try request.optionalString("timespan") ?? "minute"
        guard let timespan = BackfillTimespan(rawValue: timespanText) else {
            throw ControlError(
                .badTimespan, "unknown timespan \"\(timespanText.prefix(32))\": use second, minute, day, trade or quote")
        }
        func bound(_ key: String) throws(ControlError) -> HistoryBound {
            let text: String
            if let int = request.body[key]?.int {
                text = String(int)
            } else {
                text = try request.string(key)
            }
            do {
                return try HistoryBound(parsing: text)
            } catch {
                throw ControlError(.badDate, "\"\(key)\": \(error)")
            }
        }
        try self.init(
            symbol: try request.string("symbol"), timespan: timespan, from: try bound("from"), to: try bound("to"),
            market: market, reason: "request")
    }
}
