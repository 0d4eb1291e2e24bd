import TickBusCore

/// What to fetch from Massive's REST API: one symbol, one kind of data, an inclusive range.
///
/// `symbol` is the symbol as the bus and the WebSocket carry it (`AAPL`,
/// `O:SPY251219C00650000`, `I:SPX`, `EUR/USD`, `BTC-USD`); ``ticker`` is Massive's REST ticker
/// for it (`C:EURUSD`, `X:BTCUSD`). Records carry `symbol`, so backfilled records land on the
/// same topics as live ones.
public struct HistoryQuery: Sendable, Hashable, CustomStringConvertible {
    public let symbol: Symbol
    public let market: Market
    public let kind: HistoryKind
    public let from: HistoryBound
    public let to: HistoryBound
    /// Split-adjusted aggregates (Massive's `adjusted`); ignored by trades and quotes.
    public let adjusted: Bool
    /// Massive's REST ticker for `symbol`.
    public let ticker: String

    /// Validates the query: a symbol of the market's form, data Massive has, `from` ≤ `to`.
    public init(
        symbol: String, market: Market, kind: HistoryKind, from: HistoryBound, to: HistoryBound, adjusted: Bool = true
    ) throws(HistoryQueryError) {
        switch (market, kind) {
        case (.futures, _), (.unknown, _):
            throw .unsupported("history of \(market.name) is not available from Massive's aggregates and v3 APIs")
        case (.indices, .trades), (.indices, .quotes):
            throw .unsupported("indices have no \(kind) on Massive's REST API; ask for bars")
        case (.forex, .trades):
            throw .unsupported("forex has no trades on Massive's REST API; ask for quotes or bars")
        default:
            break
        }
        ticker = try HistoryQuery.restTicker(symbol: symbol, market: market)
        do {
            self.symbol = try Symbol(symbol)
        } catch {
            throw .badSymbol(symbol, reason: "\(error)")
        }
        // Two dates compare as dates; a date and an instant as the widest day the date can
        // mean, so only ranges that are empty in every time zone Massive uses are refused.
        if case .date(let a) = from, case .date(let b) = to {
            guard a <= b else { throw .fromAfterTo(from: from, to: to) }
        } else {
            guard from.earliest <= to.latest else { throw .fromAfterTo(from: from, to: to) }
        }
        self.market = market
        self.kind = kind
        self.from = from
        self.to = to
        self.adjusted = adjusted
    }

    /// Parses `from` and `to` as user input (see ``HistoryBound/init(parsing:)``) and validates.
    public init(
        symbol: String, market: Market, kind: HistoryKind, from: String, to: String, adjusted: Bool = true
    ) throws(HistoryQueryError) {
        try self.init(
            symbol: symbol, market: market, kind: kind, from: try HistoryBound(parsing: from),
            to: try HistoryBound(parsing: to), adjusted: adjusted)
    }

    /// Massive's REST ticker for a symbol in WebSocket form: stocks, options (`O:…`) and indices
    /// (`I:…`) unchanged, crypto `BTC-USD` → `X:BTCUSD`, forex `EUR/USD` → `C:EURUSD`.
    public static func restTicker(symbol: String, market: Market) throws(HistoryQueryError) -> String {
        func bad(_ reason: String) -> HistoryQueryError { .badSymbol(symbol, reason: reason) }
        func pair(_ separator: Character, prefix: String, example: String) throws(HistoryQueryError) -> String {
            let parts = symbol.split(separator: separator, omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } })
            else { throw bad("\(market.name) symbols are pairs as the WebSocket carries them, like \(example)") }
            return prefix + parts.joined().uppercased()
        }
        guard !symbol.isEmpty, symbol.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw bad("not printable ASCII")
        }
        // A path segment of `.` or `..` (or one starting so) would change the REST path.
        guard let first = symbol.first, let last = symbol.last, first.isLetter || first.isNumber, last.isLetter || last.isNumber
        else { throw bad("a symbol starts and ends with a letter or digit") }
        switch market {
        case .crypto: return try pair("-", prefix: "X:", example: "BTC-USD")
        case .forex: return try pair("/", prefix: "C:", example: "EUR/USD")
        case .options:
            guard symbol.hasPrefix("O:"), symbol.count > 2 else { throw bad("options symbols start with O: (O:SPY251219C00650000)") }
        case .indices:
            guard symbol.hasPrefix("I:"), symbol.count > 2 else { throw bad("index symbols start with I: (I:SPX)") }
        default:
            guard !symbol.contains(":"), !symbol.contains("/") else { throw bad("not a \(market.name) symbol") }
        }
        return symbol
    }

    /// The path and query of the first request, with pages of `limit` results.
    public func path(limit: Int) -> String {
        let ticker = HistoryQuery.pathSegment(self.ticker)
        switch kind {
        case .secondBars, .minuteBars, .dayBars:
            let range = "\(from.restText(milliseconds: true))/\(to.restText(milliseconds: true))"
            return "/v2/aggs/ticker/\(ticker)/range/1/\(kind.rawValue)/\(range)?adjusted=\(adjusted)&sort=asc&limit=\(limit)"
        case .trades, .quotes:
            let bounds = "timestamp.gte=\(from.restText(milliseconds: false))&timestamp.lte=\(to.restText(milliseconds: false))"
            return "/v3/\(kind.rawValue)/\(ticker)?\(bounds)&order=asc&sort=timestamp&limit=\(limit)"
        }
    }

    public var description: String { "\(kind) of \(symbol) (\(market.name), \(from) to \(to))" }

    /// Percent-encodes what is not unreserved in a path segment (`:` is allowed).
    private static func pathSegment(_ text: String) -> String {
        var out = ""
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "~"), UInt8(ascii: ":"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = String(b, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}
