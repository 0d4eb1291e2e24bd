/// The five Massive WebSocket clusters the simulator serves, one path each (`/stocks`, ...).
public enum Market: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    case stocks, options, indices, forex, crypto

    public var description: String { rawValue }

    /// Symbols used when the configuration names none for this market.
    public var defaultSymbols: [String] {
        switch self {
        case .stocks: ["AAPL", "MSFT", "SPY", "QQQ", "NVDA"]
        case .options: ["O:SPY251219C00650000", "O:AAPL251219C00250000", "O:QQQ251219P00500000"]
        case .indices: ["I:SPX", "I:NDX", "I:VIX"]
        case .forex: ["EUR/USD", "GBP/USD", "USD/JPY"]
        case .crypto: ["BTC-USD", "ETH-USD", "SOL-USD"]
        }
    }

    /// The market a symbol in Massive's WebSocket syntax belongs to: `O:` options, `I:` indices,
    /// `X/Y` forex, `X-Y` crypto, anything else stocks.
    public static func classify(symbol: String) -> Market {
        if symbol.hasPrefix("O:") { return .options }
        if symbol.hasPrefix("I:") { return .indices }
        if symbol.contains("/") { return .forex }
        if symbol.contains("-") { return .crypto }
        return .stocks
    }

    /// Massive's event code for a kind of event on this market, if the market has it.
    func code(for kind: EventKind) -> String? {
        switch (self, kind) {
        case (.stocks, .trade), (.options, .trade): "T"
        case (.stocks, .quote), (.options, .quote): "Q"
        case (.stocks, .secondBar), (.options, .secondBar), (.indices, .secondBar): "A"
        case (.stocks, .minuteBar), (.options, .minuteBar), (.indices, .minuteBar): "AM"
        case (.indices, .value): "V"
        case (.forex, .quote): "C"
        case (.forex, .secondBar): "CAS"
        case (.forex, .minuteBar): "CA"
        case (.crypto, .trade): "XT"
        case (.crypto, .quote): "XQ"
        case (.crypto, .secondBar): "XAS"
        case (.crypto, .minuteBar): "XA"
        default: nil
        }
    }

    func kind(forCode code: Substring) -> EventKind? {
        for kind in EventKind.allCases where self.code(for: kind).map({ $0[...] == code }) == true {
            return kind
        }
        return nil
    }

    /// Channels Massive has on this cluster that the simulator acknowledges but never feeds
    /// (like an unknown ticker on the real service).
    func isKnownUnsimulated(code: Substring) -> Bool {
        switch self {
        case .stocks: ["LULD", "NOI", "FMV", "LV"].contains(code)
        case .options: ["FMV", "LV"].contains(code)
        case .indices: ["FMV"].contains(code)
        case .forex: ["FMV", "AM", "LV"].contains(code)
        case .crypto: ["XL2", "FMV", "AM", "LV"].contains(code)
        }
    }

    /// Event kinds the generator produces per second for this market (before bars).
    var hasTrades: Bool { self == .stocks || self == .options || self == .crypto }
    var hasQuotes: Bool { self != .indices }
}

/// Kinds of generated event, common to all markets (the code differs per market).
enum EventKind: UInt8, CaseIterable, Sendable {
    case trade = 0, quote, value, secondBar, minuteBar

    var maskBit: UInt8 { 1 << rawValue }
}

/// REST ticker (`AAPL`, `O:…`, `I:SPX`, `C:EURUSD`, `X:BTCUSD`) → WebSocket symbol form.
func restTickerKey(_ ticker: String) -> (market: Market?, key: String) {
    func letters(_ s: Substring) -> String { String(s.filter { $0.isLetter || $0.isNumber }).uppercased() }
    if ticker.hasPrefix("C:") { return (.forex, letters(ticker.dropFirst(2))) }
    if ticker.hasPrefix("X:") { return (.crypto, letters(ticker.dropFirst(2))) }
    if ticker.hasPrefix("O:") { return (.options, ticker) }
    if ticker.hasPrefix("I:") { return (.indices, ticker) }
    return (nil, ticker)
}
