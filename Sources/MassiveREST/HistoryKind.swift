import TickBusCore

/// The data a history query asks for: bars (Massive's aggregates) or ticks (v3).
public enum HistoryKind: String, Sendable, CaseIterable, CustomStringConvertible {
    case secondBars = "second"
    case minuteBars = "minute"
    case dayBars = "day"
    case trades
    case quotes

    /// The bar length of the bar kinds.
    public var barInterval: BarInterval? {
        switch self {
        case .secondBars: .second
        case .minuteBars: .minute
        case .dayBars: .day
        case .trades, .quotes: nil
        }
    }

    /// Its name in a `backfill` request and a job (`ctl backfill --timespan`): `second`,
    /// `minute`, `day`, `trade` or `quote`.
    public var timespan: String {
        switch self {
        case .secondBars, .minuteBars, .dayBars: rawValue
        case .trades: "trade"
        case .quotes: "quote"
        }
    }

    /// The kind whose ``timespan`` is `timespan`.
    public init?(timespan: String) {
        guard let kind = Self.allCases.first(where: { $0.timespan == timespan }) else { return nil }
        self = kind
    }

    public var description: String {
        switch self {
        case .secondBars: "second bars"
        case .minuteBars: "minute bars"
        case .dayBars: "day bars"
        case .trades: "trades"
        case .quotes: "quotes"
        }
    }
}
