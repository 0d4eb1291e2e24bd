/// A bar ready to send: a second (A/CAS/XAS) or minute (AM/CA/XA) window and the day's running
/// totals at its end.
struct BarRecord: Sendable {
    var kind: EventKind
    /// Emission order key (ns): the window's end plus the configured bar delay.
    var key: Int64
    var startMs: Int64
    var endMs: Int64
    var acc: BarAccumulator
    var dayOpen: Int64
    var dayVolume: Int64
    var dayNotional: Double
}

/// Writes Massive WebSocket JSON for generated events, field names and order as in Massive's
/// spec examples (`websocket-spec.json`). The hot path copies pre-encoded prefixes and formats
/// integers; no Foundation, no JSONEncoder.
enum EventEncoder {
    /// Upper bound of one encoded event, symbol excluded.
    static let maxEventBytes = 420

    @inline(__always)
    static func encode(_ e: SimEvent, _ spec: SymbolSpec, into f: inout FrameBuffer) {
        f.ensure(maxEventBytes + spec.name.utf8.count * 2)
        f.element()
        switch spec.market {
        case .stocks:
            if e.kind == .trade { stockTrade(e, spec, &f) } else { stockQuote(e, spec, &f) }
        case .options:
            if e.kind == .trade { optionTrade(e, spec, &f) } else { optionQuote(e, spec, &f) }
        case .indices:
            f.bytes(spec.json.value)
            f.fixed(e.price, decimals: spec.decimals)
            f.bytes(spec.json.valueSuffix)
            f.int(e.timestampMs)
            f.byte(UInt8(ascii: "}"))
        case .forex:
            f.bytes(spec.json.quote)
            f.int(Int64(e.exchange))
            f.raw(#","a":"#)
            f.fixed(e.askPrice, decimals: spec.decimals)
            f.raw(#","b":"#)
            f.fixed(e.bidPrice, decimals: spec.decimals)
            f.raw(#","t":"#)
            f.int(e.timestampMs)
            f.byte(UInt8(ascii: "}"))
        case .crypto:
            if e.kind == .trade { cryptoTrade(e, spec, &f) } else { cryptoQuote(e, spec, &f) }
        }
    }

    @inline(__always)
    static func stockTrade(_ e: SimEvent, _ spec: SymbolSpec, _ f: inout FrameBuffer) {
        f.bytes(spec.json.trade)
        f.int(Int64(e.exchange))
        f.raw(#","i":""#)
        f.int(e.sequence)
        f.raw(#"","z":"#)
        f.int(Int64(spec.tape))
        f.raw(#","p":"#)
        f.fixed(e.price, decimals: spec.decimals)
        f.raw(#","s":"#)
        f.int(e.size)
        let conditionFlags = SimEvent.averagePrice | SimEvent.iso | SimEvent.oddLot | SimEvent.tradeThroughExempt
        if e.flags & conditionFlags != 0 {
            f.raw(#","c":["#)
            var first = true
            func code(_ flag: UInt16, _ c: StaticString, _ f: inout FrameBuffer) {
                guard e.flags & flag != 0 else { return }
                if !first { f.byte(UInt8(ascii: ",")) }
                first = false
                f.raw(c)
            }
            code(SimEvent.averagePrice, "2", &f)
            code(SimEvent.iso, "14", &f)
            code(SimEvent.oddLot, "37", &f)
            code(SimEvent.tradeThroughExempt, "41", &f)
            f.byte(UInt8(ascii: "]"))
        }
        f.raw(#","t":"#)
        f.int(e.timestampMs)
        f.raw(#","q":"#)
        f.int(e.sequence)
        if e.flags & SimEvent.trf != 0 {
            f.raw(#","trfi":"#)
            f.int(Int64(e.trfID))
            f.raw(#","trft":"#)
            f.int(floorDiv(e.timestampNs - Int64(e.trfDelayNs), 1_000_000))
        }
        f.byte(UInt8(ascii: "}"))
    }

    @inline(__always)
    static func stockQuote(_ e: SimEvent, _ spec: SymbolSpec, _ f: inout FrameBuffer) {
        f.bytes(spec.json.quote)
        f.int(Int64(e.bidExchange))
        f.raw(#","bp":"#)
        f.fixed(e.bidPrice, decimals: spec.decimals)
        f.raw(#","bs":"#)
        f.int(e.bidSize)
        f.raw(#","ax":"#)
        f.int(Int64(e.askExchange))
        f.raw(#","ap":"#)
        f.fixed(e.askPrice, decimals: spec.decimals)
        f.raw(#","as":"#)
        f.int(e.askSize)
        f.raw(#","c":0"#)
        if e.flags & SimEvent.indicator != 0 { f.raw(#","i":[604]"#) }
        f.raw(#","t":"#)
        f.int(e.timestampMs)
        f.raw(#","q":"#)
        f.int(e.sequence)
        f.raw(#","z":"#)
        f.int(Int64(spec.tape))
        f.byte(UInt8(ascii: "}"))
    }

    @inline(__always)
    static func optionTrade(_ e: SimEvent, _ spec: SymbolSpec, _ f: inout FrameBuffer) {
        f.bytes(spec.json.trade)
        f.int(Int64(e.exchange))
        f.raw(#","p":"#)
        f.fixed(e.price, decimals: spec.decimals)
        f.raw(#","s":"#)
        f.int(e.size)
        if e.flags & SimEvent.altCondition != 0 { f.raw(#","c":[233]"#) } else { f.raw(#","c":[209]"#) }
        f.raw(#","t":"#)
        f.int(e.timestampMs)
        f.raw(#","q":"#)
        f.int(e.sequence)
        f.byte(UInt8(ascii: "}"))
    }

    @inline(__always)
    static func optionQuote(_ e: SimEvent, _ spec: SymbolSpec, _ f: inout FrameBuffer) {
        f.bytes(spec.json.quote)
        f.int(Int64(e.bidExchange))
        f.raw(#","ax":"#)
        f.int(Int64(e.askExchange))
        f.raw(#","bp":"#)
        f.fixed(e.bidPrice, decimals: spec.decimals)
        f.raw(#","ap":"#)
        f.fixed(e.askPrice, decimals: spec.decimals)
        f.raw(#","bs":"#)
        f.int(e.bidSize)
        f.raw(#","as":"#)
        f.int(e.askSize)
        f.raw(#","t":"#)
        f.int(e.timestampMs)
        f.raw(#","q":"#)
        f.int(e.sequence)
        f.byte(UInt8(ascii: "}"))
    }

    @inline(__always)
    static func cryptoTrade(_ e: SimEvent, _ spec: SymbolSpec, _ f: inout FrameBuffer) {
        f.bytes(spec.json.trade)
        f.fixed(e.price, decimals: spec.decimals)
        f.raw(#","t":"#)
        f.int(floorDiv(e.timestampNs - Int64(e.participantDelayNs), 1_000_000))
        f.raw(#","s":"#)
        f.fixed(e.size, decimals: 8)
        if e.flags & SimEvent.sellSide != 0 {
            f.raw(#","c":[1]"#)
        } else if e.flags & SimEvent.buySide != 0 {
            f.raw(#","c":[2]"#)
        }
        f.raw(#","i":"#)
        f.int(e.sequence)
        f.raw(#","x":"#)
        f.int(Int64(e.exchange))
        f.raw(#","r":"#)
        f.int(e.timestampMs)
        f.byte(UInt8(ascii: "}"))
    }

    @inline(__always)
    static func cryptoQuote(_ e: SimEvent, _ spec: SymbolSpec, _ f: inout FrameBuffer) {
        f.bytes(spec.json.quote)
        f.fixed(e.bidPrice, decimals: spec.decimals)
        f.raw(#","bs":"#)
        f.fixed(e.bidSize, decimals: 8)
        f.raw(#","ap":"#)
        f.fixed(e.askPrice, decimals: spec.decimals)
        f.raw(#","as":"#)
        f.fixed(e.askSize, decimals: 8)
        f.raw(#","t":"#)
        f.int(floorDiv(e.timestampNs - Int64(e.participantDelayNs), 1_000_000))
        f.raw(#","x":"#)
        f.int(Int64(e.exchange))
        f.raw(#","r":"#)
        f.int(e.timestampMs)
        f.byte(UInt8(ascii: "}"))
    }

    static func encode(_ b: BarRecord, _ spec: SymbolSpec, into f: inout FrameBuffer) {
        f.ensure(maxEventBytes + spec.name.utf8.count * 2)
        f.element()
        let d = spec.decimals
        let acc = b.acc
        f.bytes(b.kind == .secondBar ? spec.json.secondBar : spec.json.minuteBar)
        switch spec.market {
        case .stocks, .options:
            f.int(acc.volume)
            f.raw(#","av":"#)
            f.int(b.dayVolume)
            f.raw(#","op":"#)
            f.fixed(b.dayOpen, decimals: d)
            f.raw(#","vw":"#)
            f.decimal(acc.vwapTicks / Double(pow10(d)), decimals: spec.averageDecimals)
            ohlc(acc, d, &f)
            f.raw(#","a":"#)
            let dayVWAP = b.dayVolume > 0 ? b.dayNotional / Double(b.dayVolume) : acc.vwapTicks
            f.decimal(dayVWAP / Double(pow10(d)), decimals: spec.averageDecimals)
            f.raw(#","z":"#)
            f.int(acc.count > 0 ? acc.volume / acc.count : 0)
        case .indices:
            f.fixed(b.dayOpen, decimals: d)
            ohlc(acc, d, &f)
        case .forex:
            f.fixed(acc.open, decimals: d)
            f.raw(#","c":"#)
            f.fixed(acc.close, decimals: d)
            f.raw(#","h":"#)
            f.fixed(acc.high, decimals: d)
            f.raw(#","l":"#)
            f.fixed(acc.low, decimals: d)
            f.raw(#","v":"#)
            f.int(acc.volume)
        case .crypto:
            f.fixed(acc.volume, decimals: 8)
            f.raw(#","vw":"#)
            f.decimal(acc.vwapTicks / Double(pow10(d)), decimals: spec.averageDecimals)
            f.raw(#","z":"#)
            f.int(acc.count > 0 ? Int64((Double(acc.volume) / Double(acc.count) / 1e8).rounded()) : 0)
            ohlc(acc, d, &f)
        }
        f.raw(#","s":"#)
        f.int(b.startMs)
        f.raw(#","e":"#)
        f.int(b.endMs)
        f.byte(UInt8(ascii: "}"))
    }

    @inline(__always)
    private static func ohlc(_ acc: BarAccumulator, _ d: Int, _ f: inout FrameBuffer) {
        f.raw(#","o":"#)
        f.fixed(acc.open, decimals: d)
        f.raw(#","c":"#)
        f.fixed(acc.close, decimals: d)
        f.raw(#","h":"#)
        f.fixed(acc.high, decimals: d)
        f.raw(#","l":"#)
        f.fixed(acc.low, decimals: d)
    }

    /// `{"ev":"status","status":…,"message":…}` as one array element.
    static func status(_ status: String, _ message: String, into f: inout FrameBuffer) {
        f.ensure(64)
        f.element()
        f.text(#"{"ev":"status","status":"#)
        f.text(jsonStringLiteral(status))
        f.text(#","message":"#)
        f.text(jsonStringLiteral(message))
        f.text("}")
    }
}
