#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything the generator needs to know about one symbol, fixed at start-up. A class so the
/// hot path passes one pointer around instead of retaining a struct's fields.
final class SymbolSpec: @unchecked Sendable {
    let market: Market
    let name: String
    let index: Int
    /// Stable per-(seed, market, symbol) key that seeds every random draw for this symbol.
    let key: UInt64
    /// Price decimals on the wire (tick = 10^-decimals).
    let decimals: Int
    /// Decimals used for averages (vw, a).
    let averageDecimals: Int
    let basePrice: Double
    let baseTicks: Double
    let sigmaSecond: Double
    let sigmaAnchor: Double
    /// Mean number of trades+quotes (index values for indices, quotes for forex) per second of
    /// the regular session.
    let lambda: Double
    /// Event rates of the regular session, of pre-market/after-hours, and while closed.
    let regular: Activity
    let extended: Activity
    /// When the symbol's market trades.
    let calendar: MarketCalendar
    /// Probability that an event after the first of a second is a trade.
    let pTrade: Double
    let tape: Int
    let spreadTicks: Int
    /// Crypto only: trade size scale in 1e-8 units per dollar of notional.
    let unitsPerDollar: Double
    let json: SymbolJSON

    /// Seconds between anchors of the price path (2^20 s, about 12 days).
    static let anchorShift: Int64 = 20

    init(market: Market, name: String, index: Int, seed: UInt64, lambda: Double, marketShift: Int64 = 0) {
        self.market = market
        self.calendar = MarketCalendar(market: market, shift: marketShift)
        self.name = name
        self.index = index
        let key = hashWords(seed, stableHash(market.rawValue), stableHash(name))
        self.key = key
        let u = Double(SplitMix64.mix(key ^ 0x0BA5_E000) >> 11) * 0x1.0p-53
        let base = SymbolSpec.knownBasePrices[name] ?? SymbolSpec.defaultBasePrice(market: market, u: u)
        self.basePrice = base
        let decimals: Int
        switch market {
        case .stocks: decimals = base < 1 ? 4 : 2
        case .options, .indices: decimals = 2
        case .forex: decimals = base >= 20 ? 3 : 5
        case .crypto: decimals = base >= 1000 ? 2 : base >= 10 ? 3 : base >= 1 ? 4 : 6
        }
        self.decimals = decimals
        self.averageDecimals = min(decimals + 2, 8)
        self.baseTicks = base * pow(10, Double(decimals))
        let dailyVol: Double
        switch market {
        case .stocks: dailyVol = 0.015
        case .options: dailyVol = 0.08
        case .indices: dailyVol = name == "I:VIX" ? 0.06 : 0.01
        case .forex: dailyVol = 0.005
        case .crypto: dailyVol = 0.03
        }
        self.sigmaSecond = dailyVol / (86_400.0).squareRoot()
        self.sigmaAnchor = dailyVol * 2.5
        self.lambda = lambda
        self.regular = Activity(lambda: lambda)
        self.extended = Activity(lambda: lambda * MarketCalendar.extendedActivity)
        switch market {
        case .stocks: pTrade = 0.35
        case .options: pTrade = 0.3
        case .crypto: pTrade = 0.45
        case .indices, .forex: pTrade = 0
        }
        self.tape = SymbolSpec.knownTapes[name] ?? Int(1 + (key >> 7) % 3)
        let tick = pow(10, -Double(decimals))
        switch market {
        case .stocks: spreadTicks = max(1, Int((base * 0.00008 / tick).rounded()))
        case .options: spreadTicks = max(1, Int((base * 0.01 / tick).rounded()))
        case .forex: spreadTicks = decimals == 5 ? 2 : 1
        case .crypto: spreadTicks = max(1, Int((base * 0.00002 / tick).rounded()))
        case .indices: spreadTicks = 0
        }
        self.unitsPerDollar = 1e8 / base
        self.json = SymbolJSON(market: market, name: name)
    }

    deinit { json.deallocate() }

    /// The event rate of a session phase.
    @inline(__always)
    func activity(_ phase: SessionPhase) -> Activity {
        switch phase {
        case .regular: regular
        case .extended: extended
        case .closed: .closed
        }
    }

    /// Mean number of events generated in `from..<to`.
    func expectedEvents(from: Int64, to: Int64) -> Double {
        let active = calendar.activeSeconds(from: from, to: to)
        return regular.lambda * Double(active.regular) + extended.lambda * Double(active.extended)
    }

    static let knownBasePrices: [String: Double] = [
        "AAPL": 230, "MSFT": 420, "SPY": 600, "QQQ": 520, "NVDA": 180, "TSLA": 330, "AMZN": 210,
        "GOOGL": 175, "META": 600, "IWM": 220, "DIA": 430, "BRK.B": 470, "JPM": 240, "AMD": 160,
        "I:SPX": 6000, "I:NDX": 21000, "I:VIX": 18, "I:DJI": 43000, "I:RUT": 2300, "I:COMP": 19000,
        "EUR/USD": 1.08, "GBP/USD": 1.27, "USD/JPY": 150, "USD/CAD": 1.36, "AUD/USD": 0.66,
        "USD/CHF": 0.88, "USD/CNH": 7.2, "EUR/GBP": 0.85,
        "BTC-USD": 95000, "ETH-USD": 3300, "SOL-USD": 200, "DOGE-USD": 0.35, "XRP-USD": 2.2,
        "LTC-USD": 100,
    ]

    static let knownTapes: [String: Int] = [
        "AAPL": 3, "MSFT": 3, "QQQ": 3, "NVDA": 3, "TSLA": 3, "AMZN": 3, "GOOGL": 3, "META": 3, "AMD": 3,
        "SPY": 2, "IWM": 2, "DIA": 2, "BRK.B": 1, "JPM": 1,
    ]

    static func defaultBasePrice(market: Market, u: Double) -> Double {
        switch market {
        case .stocks: (10 + 490 * u).rounded()
        case .options: ((2 + 18 * u) * 100).rounded() / 100
        case .indices: (500 + 9500 * u).rounded()
        case .forex: ((0.5 + 1.5 * u) * 10_000).rounded() / 10_000
        case .crypto: (1 + 999 * u).rounded()
        }
    }

    // MARK: price path

    /// Log-deviation of the price from its base at the start of a second: an exact Brownian
    /// bridge between stationary anchors every 2^20 s, evaluated by midpoint displacement with
    /// counter-based noise, so any second can be computed in 20 steps without history.
    func logLevel(at second: Int64) -> Double {
        let k = second >> Self.anchorShift
        var lo = k << Self.anchorShift
        var len: Int64 = 1 << Self.anchorShift
        var xlo = anchor(k)
        var xhi = anchor(k + 1)
        var sd = sigmaSecond * (Double(len) / 4).squareRoot()
        while len > 1 {
            let half = len >> 1
            let mid = lo + half
            let xm = 0.5 * (xlo + xhi) + sd * gaussian(fromBits: hashWords(key, UInt64(bitPattern: mid)))
            if second < mid {
                xhi = xm
            } else {
                lo = mid
                xlo = xm
            }
            len = half
            sd *= 0.7071067811865476
        }
        return xlo
    }

    private func anchor(_ k: Int64) -> Double {
        sigmaAnchor * gaussian(fromBits: hashWords(key ^ 0xA5A5_5A5A_A5A5_5A5A, UInt64(bitPattern: k)))
    }

    /// Mid price in ticks at the start of a second.
    func midTicks(at second: Int64) -> Double { baseTicks * exp(logLevel(at: second)) }
}

/// A Poisson event rate with the constants its sampling needs.
struct Activity: Sendable {
    let lambda: Double
    let expNegLambda: Double
    let sqrtLambda: Double

    init(lambda: Double) {
        self.lambda = lambda
        self.expNegLambda = exp(-lambda)
        self.sqrtLambda = lambda.squareRoot()
    }

    static let closed = Activity(lambda: 0)
}

/// Pre-encoded JSON fragments for one symbol, so the hot path only copies bytes and formats
/// numbers. The bytes live in buffers owned (and freed) by the spec: no reference counting.
struct SymbolJSON {
    let trade: UnsafeBufferPointer<UInt8>
    let quote: UnsafeBufferPointer<UInt8>
    let value: UnsafeBufferPointer<UInt8>
    let valueSuffix: UnsafeBufferPointer<UInt8>
    let secondBar: UnsafeBufferPointer<UInt8>
    let minuteBar: UnsafeBufferPointer<UInt8>

    func deallocate() {
        for b in [trade, quote, value, valueSuffix, secondBar, minuteBar] { b.deallocate() }
    }

    init(market: Market, name: String) {
        let sym = jsonStringLiteral(name)
        func b(_ s: String) -> UnsafeBufferPointer<UInt8> {
            let bytes = Array(s.utf8)
            let p = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(bytes.count, 1))
            _ = p.initialize(from: bytes)
            return UnsafeBufferPointer(start: p.baseAddress, count: bytes.count)
        }
        switch market {
        case .stocks, .options:
            trade = b(#"{"ev":"T","sym":\#(sym),"x":"#)
            quote = b(#"{"ev":"Q","sym":\#(sym),"bx":"#)
            value = b("")
            valueSuffix = b("")
            secondBar = b(#"{"ev":"A","sym":\#(sym),"v":"#)
            minuteBar = b(#"{"ev":"AM","sym":\#(sym),"v":"#)
        case .indices:
            trade = b("")
            quote = b("")
            value = b(#"{"ev":"V","val":"#)
            valueSuffix = b(#","T":\#(sym),"t":"#)
            secondBar = b(#"{"ev":"A","sym":\#(sym),"op":"#)
            minuteBar = b(#"{"ev":"AM","sym":\#(sym),"op":"#)
        case .forex:
            trade = b("")
            quote = b(#"{"ev":"C","p":\#(sym),"x":"#)
            value = b("")
            valueSuffix = b("")
            secondBar = b(#"{"ev":"CAS","pair":\#(sym),"o":"#)
            minuteBar = b(#"{"ev":"CA","pair":\#(sym),"o":"#)
        case .crypto:
            trade = b(#"{"ev":"XT","pair":\#(sym),"p":"#)
            quote = b(#"{"ev":"XQ","pair":\#(sym),"bp":"#)
            value = b("")
            valueSuffix = b("")
            secondBar = b(#"{"ev":"XAS","pair":\#(sym),"v":"#)
            minuteBar = b(#"{"ev":"XA","pair":\#(sym),"v":"#)
        }
    }
}

/// A JSON string literal (with quotes) for arbitrary text.
func jsonStringLiteral(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

/// The configured symbols of every market, with their generation parameters.
final class Universe: Sendable {
    let seed: UInt64
    let specs: [Market: [SymbolSpec]]
    private let byName: [Market: [String: Int]]
    private let byRESTKey: [Market: [String: Int]]

    /// Market time − event time, seconds (`SimulatorConfiguration.marketTimeOffset`).
    let marketShift: Int64

    init(seed: UInt64, symbols: [Market: [String]], rates: [Market: Double], marketShift: Int64 = 0) {
        self.seed = seed
        self.marketShift = marketShift
        var specs: [Market: [SymbolSpec]] = [:]
        var byName: [Market: [String: Int]] = [:]
        var byREST: [Market: [String: Int]] = [:]
        for market in Market.allCases {
            var names: [String] = []
            for name in symbols[market] ?? market.defaultSymbols where !names.contains(name) {
                names.append(name)
            }
            let rate = max(0, rates[market] ?? 0)
            // Activity weights in [0.5, 1.5), normalised: some symbols trade more than others.
            let weights = names.map { 0.5 + Double(stableHash("w:" + $0) >> 11) * 0x1.0p-53 }
            let total = weights.reduce(0, +)
            var list: [SymbolSpec] = []
            var names1: [String: Int] = [:]
            var rest1: [String: Int] = [:]
            for (i, name) in names.enumerated() {
                let lambda = total > 0 ? min(rate * weights[i] / total, Double(SecondGenerator.maxEventsPerSecond) / 2) : 0
                list.append(SymbolSpec(
                    market: market, name: name, index: i, seed: seed, lambda: lambda, marketShift: marketShift))
                names1[name] = i
                rest1[Universe.restKey(market: market, symbol: name)] = i
            }
            specs[market] = list
            byName[market] = names1
            byREST[market] = rest1
        }
        self.specs = specs
        self.byName = byName
        self.byRESTKey = byREST
    }

    func spec(_ market: Market, named name: Substring) -> SymbolSpec? {
        guard let i = byName[market]?[String(name)] else { return nil }
        return specs[market]![i]
    }

    func symbols(_ market: Market) -> [SymbolSpec] { specs[market] ?? [] }

    /// The calendar of a market.
    func calendar(_ market: Market) -> MarketCalendar { MarketCalendar(market: market, shift: marketShift) }

    static func restKey(market: Market, symbol: String) -> String {
        switch market {
        case .forex, .crypto: String(symbol.filter { $0.isLetter || $0.isNumber }).uppercased()
        default: symbol
        }
    }

    /// Resolve a REST ticker (`AAPL`, `O:…`, `I:SPX`, `C:EURUSD`, `X:BTCUSD`).
    func spec(restTicker ticker: String) -> SymbolSpec? {
        let (market, key) = restTickerKey(ticker)
        if let market {
            guard let i = byRESTKey[market]?[key] else { return nil }
            return specs[market]![i]
        }
        if let i = byRESTKey[.stocks]?[key] { return specs[.stocks]![i] }
        return nil
    }
}
