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
