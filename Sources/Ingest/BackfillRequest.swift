import MassiveREST
import TickBusCore

extension HistoryKind {
    /// The longest range one backfill may cover, in days: what one job fetches in reasonable
    /// time and memory. Longer ranges are refused with `bad_range`; split them.
    public var maxBackfillDays: Int64 {
        switch self {
        case .secondBars: 31
        case .minuteBars: 731
        case .dayBars: 36_525
        case .trades, .quotes: 7
        }
    }
}

/// A validated backfill: a symbol (as the bus carries it), the data and an inclusive range.
public struct BackfillRequest: Sendable {
    public let query: HistoryQuery
    public var kind: HistoryKind { query.kind }
    /// `request` (from `ctl`) or `gap_repair` (after a reconnection).
    public let reason: String
    /// Do not fetch before this wall-clock time (ns): the upstream bars of a window that just
    /// ended are not complete at once.
    public var notBefore: Int64?

    public var symbol: String { query.symbol.description }
    public var from: HistoryBound { query.from }
    public var to: HistoryBound { query.to }

    public init(
        symbol: String, kind: HistoryKind, from: HistoryBound, to: HistoryBound, market: Market, reason: String
    ) throws(BackfillRequestError) {
        do {
            query = try HistoryQuery(symbol: symbol, market: market, kind: kind, from: from, to: to)
        } catch {
            throw .query(error)
        }
        // Both ends lie in CalendarDate.years, but 1678 to 2261 is more ns than an Int64 holds.
        let (span, overflow) = to.latest.subtractingReportingOverflow(from.earliest)
        let days = span / 86_400_000_000_000
        guard !overflow, days <= kind.maxBackfillDays else {
            throw .rangeTooLong(days: overflow ? nil : days, kind: kind)
        }
        self.reason = reason
    }
}

/// Why a backfill cannot be made.
public enum BackfillRequestError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The query: a bad symbol or time, a range that ends before it starts, data Massive lacks.
    case query(HistoryQueryError)
    /// More days than one backfill of `kind` may cover (`days` nil: more than 64-bit ns hold).
    case rangeTooLong(days: Int64?, kind: HistoryKind)

    public var description: String {
        switch self {
        case .query(let error): error.description
        case .rangeTooLong(let days, let kind):
            "\(days.map(String.init) ?? "over 100,000") days of \(kind.timespan) data in one backfill; the limit is \(kind.maxBackfillDays) days: split the range"
        }
    }
}
