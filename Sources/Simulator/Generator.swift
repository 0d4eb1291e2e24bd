#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One generated trade, quote or index value. Prices are integer ticks of the symbol
/// (10^-decimals); sizes are shares/contracts, or 1e-8 units for crypto.
struct SimEvent: Sendable {
    var kind: EventKind = .trade
    var flags: UInt16 = 0
    var exchange: Int16 = 0
    var trfID: Int16 = 0
    var bidExchange: Int16 = 0
    var askExchange: Int16 = 0
    var trfDelayNs: Int32 = 0
    var participantDelayNs: Int32 = 0
    var timestampNs: Int64 = 0
    var sequence: Int64 = 0
    /// Trade price, index value or forex bid, in ticks.
    var price: Int64 = 0
    var size: Int64 = 0
    var bidPrice: Int64 = 0
    var askPrice: Int64 = 0
    var bidSize: Int64 = 0
    var askSize: Int64 = 0

    // flags
    static let eligible: UInt16 = 1 << 0  // updates open/high/low/close
    static let iso: UInt16 = 1 << 1  // stocks 14 (intermarket sweep)
    static let oddLot: UInt16 = 1 << 2  // stocks 37 (odd lot: volume only)
    static let averagePrice: UInt16 = 1 << 3  // stocks 2 (average price trade: volume only)
    static let tradeThroughExempt: UInt16 = 1 << 4  // stocks 41
    static let trf: UInt16 = 1 << 5  // stocks: reported to a TRF (trfi/trft present)
    static let sellSide: UInt16 = 1 << 6  // crypto c:[1]
    static let buySide: UInt16 = 1 << 7  // crypto c:[2]
    static let altCondition: UInt16 = 1 << 8  // options 233 instead of 209
    static let indicator: UInt16 = 1 << 9  // stocks quote carries i:[604]

    var isEligible: Bool { flags & Self.eligible != 0 }
    var timestampMs: Int64 { floorDiv(timestampNs, 1_000_000) }
}

/// Generates the events of one symbol for one second, in time order, deterministically from
/// (seed, symbol, second). The number of events is Poisson(λ); their times are stratified
/// across the second; prices follow the symbol's path from the start of this second to the
/// start of the next. For markets with trades the first event of a second is always a quote, so
/// every trade has a prevailing quote from the same second and bid ≤ price ≤ ask holds for it.
struct SecondGenerator: Sendable {
    static let maxEventsPerSecond = 4_194_303
    static let sequenceStride: Int64 = 4_194_304

    let second: Int64
    let count: Int
    private(set) var index = 0
    private var rng: SplitMix64
    private var p0 = 0.0
    private var dp = 0.0
    private let sequenceBase: Int64
    private var current = SimEvent()  // prevailing quote

    /// Draws the number of events; `setPath` must follow before `next` when it is not 0.
    /// - Parameters:
    ///   - activity: the event rate of the session this second is in.
    init(spec: SymbolSpec, activity: Activity, second: Int64, dayStart: Int64) {
        self.second = second
        var rng = SplitMix64(seed: hashWords(spec.key, UInt64(bitPattern: second), 0x5EC0_4D5E))
        var n = 0
        let lambda = activity.lambda
        if lambda <= 0 {
            n = 0
        } else if lambda < 30 {
            var p = rng.nextDouble()
            while p > activity.expNegLambda {
                n += 1
                p *= rng.nextDouble()
            }
        } else {
            n = Int((lambda + activity.sqrtLambda * rng.nextGaussian()).rounded())
        }
        self.count = min(max(n, 0), Self.maxEventsPerSecond)
        self.rng = rng
        self.sequenceBase = (second - dayStart) * Self.sequenceStride
    }

    var isExhausted: Bool { index >= count }

    /// The path's mid price at the start of this second and of the next.
    mutating func setPath(startTicks: Double, endTicks: Double) {
        p0 = startTicks
        dp = endTicks - startTicks
    }

    /// The next event of this second, or nil when the second is done.
    mutating func next(_ spec: SymbolSpec) -> SimEvent? {
        guard index < count else { return nil }
        let i = index
        index += 1
        let frac = (Double(i) + rng.nextDouble()) / Double(count)
        var offset = Int64(frac * 1e9)
        if offset > 999_999_999 { offset = 999_999_999 }
        var e = current
        e.flags = 0
        e.timestampNs = second &* 1_000_000_000 &+ offset
        e.sequence = sequenceBase + Int64(i) + 1
        let mid = p0 + dp * frac
        let r = rng.next()
        switch spec.market {
        case .indices:
            e.kind = .value
            let jitter = rng.nextGaussian() * max(1, mid * 0.00001)
            e.price = max(1, Int64((mid + jitter).rounded()))
            e.flags = SimEvent.eligible
            return e
        case .forex:
            makeQuote(&e, spec: spec, mid: mid, bits: r)
            e.price = e.bidPrice
            e.flags = SimEvent.eligible
            current = e
            return e
        case .stocks, .options, .crypto:
            let u = Double(r >> 11) * 0x1.0p-53
            if i == 0 || u >= spec.pTrade {
                makeQuote(&e, spec: spec, mid: mid, bits: rng.next())
                current = e
                return e
            }
            makeTrade(&e, spec: spec, bits: rng.next())
            return e
        }
    }

    private mutating func makeQuote(_ e: inout SimEvent, spec: SymbolSpec, mid: Double, bits r: UInt64) {
        e.kind = .quote
        let base = spec.spreadTicks
        let spread = Int64(max(1, base + Int(r % UInt64(base + 1)) - base / 2))
        let jitter = rng.nextGaussian() * 0.3 * Double(spread)
        var bid = Int64((mid + jitter - Double(spread) / 2).rounded(.down))
        if bid < 1 { bid = 1 }
        e.bidPrice = bid
        e.askPrice = bid + spread
        switch spec.market {
        case .stocks:
            e.bidSize = 100 * Int64(1 + (r >> 8) % 20)
            e.askSize = 100 * Int64(1 + (r >> 16) % 20)
            e.bidExchange = Self.stockQuoteExchanges[Int((r >> 24) % UInt64(Self.stockQuoteExchanges.count))]
            e.askExchange = Self.stockQuoteExchanges[Int((r >> 32) % UInt64(Self.stockQuoteExchanges.count))]
            if (r >> 40) % 10 == 0 { e.flags |= SimEvent.indicator }
        case .options:
            e.bidSize = Int64(1 + (r >> 8) % 200)
            e.askSize = Int64(1 + (r >> 16) % 200)
            e.bidExchange = Self.optionExchanges[Int((r >> 24) % UInt64(Self.optionExchanges.count))]
            e.askExchange = Self.optionExchanges[Int((r >> 32) % UInt64(Self.optionExchanges.count))]
        case .crypto:
            let notionalB = 100.0 * Double(1 + (r >> 8) % 500)
            let notionalA = 100.0 * Double(1 + (r >> 20) % 500)
            e.bidSize = max(1, Int64(notionalB * spec.unitsPerDollar))
            e.askSize = max(1, Int64(notionalA * spec.unitsPerDollar))
            e.exchange = Self.cryptoExchanges[Int((r >> 32) % UInt64(Self.cryptoExchanges.count))]
            e.participantDelayNs = Self.cryptoDelay(bits: r >> 40, e)
        case .forex:
            e.exchange = (r >> 8) % 4 == 0 ? 44 : 48
        case .indices:
            break
        }
    }

    private mutating func makeTrade(_ e: inout SimEvent, spec: SymbolSpec, bits r: UInt64) {
        e.kind = .trade
        let bid = current.bidPrice
        let ask = current.askPrice
        let side = r % 100
        var flags: UInt16 = SimEvent.eligible
        if side < 45 {
            e.price = bid
            flags |= SimEvent.sellSide
        } else if side < 90 || ask - bid < 2 {
            e.price = ask
            flags |= SimEvent.buySide
        } else {
            e.price = bid + 1 + Int64((r >> 8) % UInt64(ask - bid - 1))
        }
        let s = rng.next()
        switch spec.market {
        case .stocks:
            let kind = s % 1000
            if kind < 300 {
                e.size = Int64(1 + (s >> 10) % 99)
                flags |= SimEvent.oddLot
                flags &= ~SimEvent.eligible
            } else {
                let k = (s >> 10) % 100
                let lots: Int64 = k < 50 ? 1 : k < 70 ? 2 : k < 90 ? Int64(3 + (s >> 20) % 3) : Int64(6 + (s >> 20) % 45)
                e.size = 100 * lots
            }
            if kind >= 990 {
                flags |= SimEvent.averagePrice
                flags &= ~SimEvent.eligible
            }
            let c = (s >> 30) % 100
            if c < 10 { flags |= SimEvent.iso } else if c < 14 { flags |= SimEvent.tradeThroughExempt }
            let x = (s >> 40) % 100
            if x < 25 {
                e.exchange = 4
                flags |= SimEvent.trf
                e.trfID = Int16(1 + (s >> 48) % 3)
                e.trfDelayNs = Int32(1_000_000 * ((s >> 52) % 50))
            } else {
                e.exchange = Self.stockQuoteExchanges[Int((s >> 48) % UInt64(Self.stockQuoteExchanges.count))]
            }
            e.participantDelayNs = Int32(10_000 + (s >> 20) % 2_000_000)
        case .options:
            let k = (s >> 10) % 100
            e.size = k < 60 ? Int64(1 + (s >> 20) % 5) : k < 95 ? Int64(6 + (s >> 20) % 20) : Int64(26 + (s >> 20) % 475)
            if (s >> 30) % 10 == 0 { flags |= SimEvent.altCondition }
            e.exchange = Self.optionExchanges[Int((s >> 40) % UInt64(Self.optionExchanges.count))]
            e.participantDelayNs = Int32(10_000 + (s >> 20) % 2_000_000)
        case .crypto:
            // Log-uniform notional from $10 to about $50k.
            let notional = 10.0 * exp(8.5 * Double((s >> 11) & 0xFFFF) / 65536.0)
            e.size = max(1, Int64(notional * spec.unitsPerDollar))
            e.exchange = Self.cryptoExchanges[Int((s >> 40) % UInt64(Self.cryptoExchanges.count))]
            e.participantDelayNs = Self.cryptoDelay(bits: s >> 48, e)
        case .indices, .forex:
            break
        }
        e.flags = flags
    }

    /// Crypto: `t` (exchange time) is `r` − this delay, `r` (when Massive received the event)
    /// being the event's time, so `r` is never later than delivery. Up to 300 ms, kept inside the
    /// event's second so bars by `t` and by `r` agree.
    @inline(__always)
    static func cryptoDelay(bits: UInt64, _ e: SimEvent) -> Int32 {
        let drawn = 1_000_000 * Int64(1 + bits % 300)
        return Int32(min(drawn, floorMod(e.timestampNs, 1_000_000_000)))
    }

    static let stockQuoteExchanges: [Int16] = [1, 2, 3, 7, 8, 9, 10, 11, 12, 15, 17, 19, 21]
    static let optionExchanges: [Int16] = [300, 301, 302, 303, 304, 307, 308, 309, 312, 313, 316, 319, 322, 323, 325]
    static let cryptoExchanges: [Int16] = [1, 2, 6, 10, 23]
}

/// OHLC/volume accumulator following Massive's aggregation rules: only condition-eligible trades
/// set open/high/low/close; every trade adds to volume, VWAP and the trade count; a window with
/// no eligible trade produces no bar. Index values and forex quotes (bid) set OHLC; forex volume
/// is the quote count.
struct BarAccumulator: Sendable, Equatable {
    var hasOHLC = false
    var open: Int64 = 0
    var high: Int64 = 0
    var low: Int64 = 0
    var close: Int64 = 0
    var volume: Int64 = 0
    var notional: Double = 0  // Σ price_ticks × size
    var count: Int64 = 0

    @inline(__always)
    mutating func add(_ e: SimEvent, market: Market) {
        switch e.kind {
        case .trade:
            volume &+= e.size
            notional += Double(e.price) * Double(e.size)
            count &+= 1
            if e.isEligible { addPrice(e.price) }
        case .value:
            count &+= 1
            addPrice(e.price)
        case .quote:
            if market == .forex {
                volume &+= 1
                count &+= 1
                notional += Double(e.price)
                addPrice(e.price)
            }
        case .secondBar, .minuteBar:
            break
        }
    }

    @inline(__always)
    private mutating func addPrice(_ p: Int64) {
        if hasOHLC {
            if p > high { high = p }
            if p < low { low = p }
        } else {
            hasOHLC = true
            open = p
            high = p
            low = p
        }
        close = p
    }

    /// Append a later window.
    mutating func merge(_ o: BarAccumulator) {
        volume &+= o.volume
        notional += o.notional
        count &+= o.count
        guard o.hasOHLC else { return }
        if hasOHLC {
            if o.high > high { high = o.high }
            if o.low < low { low = o.low }
        } else {
            hasOHLC = true
            open = o.open
            high = o.high
            low = o.low
        }
        close = o.close
    }

    /// VWAP in ticks.
    var vwapTicks: Double { volume > 0 ? notional / Double(volume) : Double(close) }
}
