import TickBusCore

/// Massive's subscription syntax, `EV.TICKER`, checked against what a market's cluster serves,
/// so nothing else is saved, sent upstream or echoed back: a channel of the market (`T`, `XT`,
/// `C`, …, upper case), then `*` or one ticker of the market's form.
public enum MassiveSubscription {
    /// Splits params separated by commas or white space (a shard file may hold one per line)
    /// and checks each; duplicates are kept once, in order. A list with nothing in it (`""`,
    /// `","`) gives no params; the caller decides if that is an error.
    public static func parse(_ lists: [String], market: Market) throws(MassiveConfigurationError) -> [String] {
        var result: [String] = []
        for list in lists {
            for raw in list.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
                let param = try validate(String(raw), market: market)
                if !result.contains(param) { result.append(param) }
            }
        }
        return result
    }

    /// `param` if it is `EV.TICKER` for `market`, else the reason it is not.
    public static func validate(_ param: String, market: Market) throws(MassiveConfigurationError) -> String {
        func bad(_ reason: String) -> MassiveConfigurationError { .invalidSubscription(param, reason: reason) }
        guard let dot = param.firstIndex(of: ".") else { throw bad("expected EV.TICKER, e.g. T.AAPL or A.*") }
        let channel = String(param[..<dot]), ticker = param[param.index(after: dot)...]
        guard MassiveChannel.named(channel, in: market) != nil else {
            throw bad("\(market.name) channels are \(MassiveChannel.all(market).map(\.code).joined(separator: ", "))")
        }
        if ticker == "*" { return param }
        if let reason = tickerProblem(ticker, channel: channel, market: market) { throw bad(reason) }
        return param
    }

    /// Why `ticker` is not a ticker of `market` on `channel`, or nil when it is.
    static func tickerProblem(_ ticker: Substring, channel: String, market: Market) -> String? {
        guard !ticker.isEmpty, ticker.utf8.count <= FixedString.capacity else {
            return "a ticker is 1 to \(FixedString.capacity) characters, or * for all"
        }
        let allowed = ticker.utf8.allSatisfy { b in
            isAlphanumeric(b) || b == UInt8(ascii: ".") || b == UInt8(ascii: "-") || b == UInt8(ascii: "/") || b == UInt8(ascii: ":")
        }
        guard allowed else { return "tickers are upper-case letters, digits and . - / : only (* alone for all)" }
        guard let first = ticker.utf8.first, let last = ticker.utf8.last, isAlphanumeric(first), isAlphanumeric(last) else {
            return "a ticker starts and ends with a letter or digit"
        }
        let prefixed = ticker.contains(":")
        switch market {
        case .options where !ticker.hasPrefix("O:"): return "options tickers start with O: (O:SPY251219C00650000)"
        case .indices where !ticker.hasPrefix("I:"): return "index tickers start with I: (I:SPX)"
        case .stocks, .futures, .crypto, .forex:
            if prefixed && channel != "FMV" { return "\(market.name) tickers have no prefix (AAPL, BTC-USD, EUR/USD)" }
        default: break
        }
        return nil
    }

    private static func isAlphanumeric(_ b: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
    }
}
