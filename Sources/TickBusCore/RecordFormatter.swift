/// Renders records as one line of text for people or one JSON object for programs.
/// JSON keys are the field names of `docs/wire-format.md`; prices are exact decimals.
public enum RecordFormatter {
    /// `2024-01-02T09:30:00.123Z T.AAPL #5 114.125 x100 ex=4 tape=3 cond=0,12 id=12345`
    public static func text(_ record: Record) -> String {
        let h = record.header
        var line = UTCTime.iso8601(nanoseconds: h.tsEvent) + " " + Topic(of: record).description + " #\(h.sequence)"
        switch record {
        case .trade(let r):
            line += " \(r.price) x\(number(r.size))"
            if r.exchange != 0 { line += " ex=\(r.exchange)" }
            if r.tape != 0 { line += " tape=\(r.tape)" }
            if r.conditions.count > 0 { line += " cond=" + r.conditions.codes.map(String.init).joined(separator: ",") }
            if !r.tradeID.isEmpty { line += " id=\(r.tradeID)" }
        case .quote(let r):
            // A one-sided quote has a null price: print `null`, not Int64.min as a decimal.
            line += " bid \(price(r.bidPrice)) x\(number(r.bidSize)) ask \(price(r.askPrice)) x\(number(r.askSize))"
            if r.bidExchange != 0 || r.askExchange != 0 { line += " ex=\(r.bidExchange)/\(r.askExchange)" }
            if r.condition != 0 { line += " cond=\(r.condition)" }
        case .bar(let r):
            line += " \(r.interval) O \(r.open) H \(r.high) L \(r.low) C \(r.close) V \(number(r.volume))"
            if !r.vwap.isNull { line += " vwap \(r.vwap)" }
            if r.tradeCount != 0 { line += " n=\(r.tradeCount)" }
        case .status(let r):
            line += " \(r.level.name) \(r.json)"
        case .heartbeat(let r):
            line += " published=\(r.published) dropped=\(r.dropped) topics=\(r.topics) subscriptions=\(r.subscriptions)"
        }
        if !h.flags.isEmpty { line += " [" + h.flags.names.joined(separator: ",") + "]" }
        return line
    }

    /// A bar as the old q feed handler printed it: `09:30:01 AAPL 189.12 189.2 189.05 189.18 1200`
    /// (start time UTC, symbol, open, high, low, close, volume).
    public static func barLine(_ bar: Bar) -> String {
        let time = UTCTime.dateTime(seconds: bar.header.tsEvent / 1_000_000_000, separator: " ").split(separator: " ").last ?? ""
        let symbol = bar.header.symbol.description
        let padded = symbol.count >= 8 ? symbol : symbol + String(repeating: " ", count: 8 - symbol.count)
        return "\(time) \(padded) \(bar.open) \(bar.high) \(bar.low) \(bar.close) \(number(bar.volume))"
    }

    /// One JSON object with the topic, every header field and the kind's fields.
    public static func json(_ record: Record) -> String {
        let h = record.header
        var out = JSONObject()
        out.add("topic", string: Topic(of: record).description)
        out.add("kind", string: record.kind.name)
        out.add("market", string: h.market.name)
        out.add("flags", raw: "[" + h.flags.names.map { "\"\($0)\"" }.joined(separator: ",") + "]")
        out.add("epoch", raw: String(h.epoch))
        out.add("sequence", raw: String(h.sequence))
        out.add("ts_event", raw: String(h.tsEvent))
        out.add("ts_recv", raw: String(h.tsRecv))
        out.add("time", string: UTCTime.iso8601(nanoseconds: h.tsEvent))
        out.add("symbol", string: h.symbol.description)
        switch record {
        case .trade(let r):
            out.add("price", raw: price(r.price))
            out.add("size", raw: number(r.size))
            out.add("upstream_sequence", raw: String(r.upstreamSequence))
            out.add("exchange", raw: String(r.exchange))
            out.add("tape", raw: String(r.tape))
            out.add("conditions", raw: "[" + r.conditions.codes.map(String.init).joined(separator: ",") + "]")
            out.add("trade_id", string: r.tradeID.description)
        case .quote(let r):
            out.add("bid_price", raw: price(r.bidPrice))
            out.add("ask_price", raw: price(r.askPrice))
            out.add("bid_size", raw: number(r.bidSize))
            out.add("ask_size", raw: number(r.askSize))
            out.add("upstream_sequence", raw: String(r.upstreamSequence))
            out.add("bid_exchange", raw: String(r.bidExchange))
            out.add("ask_exchange", raw: String(r.askExchange))
            out.add("condition", raw: String(r.condition))
            out.add("tape", raw: String(r.tape))
        case .bar(let r):
            out.add("open", raw: price(r.open))
            out.add("high", raw: price(r.high))
            out.add("low", raw: price(r.low))
            out.add("close", raw: price(r.close))
            out.add("vwap", raw: price(r.vwap))
            out.add("volume", raw: number(r.volume))
            out.add("trade_count", raw: String(r.tradeCount))
            out.add("interval", raw: String(r.interval.seconds))
        case .status(let r):
            out.add("level", string: r.level.name)
            out.add("json", string: r.json)
        case .heartbeat(let r):
            out.add("published", raw: String(r.published))
            out.add("dropped", raw: String(r.dropped))
            out.add("started_at", raw: String(r.startedAt))
            out.add("topics", raw: String(r.topics))
            out.add("subscriptions", raw: String(r.subscriptions))
            out.add("interval_ms", raw: String(r.intervalMilliseconds))
        }
        return out.text
    }

    /// A price as a JSON number, `null` for ``Price/null``.
    static func price(_ p: Price) -> String { p.isNull ? "null" : p.description }

    /// A size or volume: whole values without `.0`, NaN and infinities as `null`.
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}

/// Builds a JSON object from keys and already-encoded values.
public struct JSONObject {
    private var body = ""

    public init() {}

    /// Adds a key whose value is JSON text (a number, `null`, an array).
    public mutating func add(_ key: String, raw: String) {
        if !body.isEmpty { body += "," }
        body += JSONObject.quote(key) + ":" + raw
    }

    /// Adds a key whose value is a string.
    public mutating func add(_ key: String, string: String) {
        add(key, raw: JSONObject.quote(string))
    }

    public var text: String { "{" + body + "}" }

    /// `strings` as a JSON array of strings.
    public static func list(_ strings: [String]) -> String {
        "[" + strings.map(quote).joined(separator: ",") + "]"
    }

    /// Adds a string, cut to its first `limit` bytes (at a character boundary) when longer; a cut
    /// value ends in `…` and `<key>_bytes` gives the original length.
    public mutating func add(_ key: String, string: String, limit: Int) {
        let length = string.utf8.count
        guard length > limit else { return add(key, string: string) }
        add(key, string: JSONObject.prefix(of: string, quotedLength: limit) + "…")
        add(key + "_bytes", raw: String(length))
    }

    /// Adds a list of strings, as many as fit in `limit` bytes of JSON; when some are left out,
    /// `<key>_count` gives the whole list's length and `<key>_truncated` is `true`.
    public mutating func add(_ key: String, strings: [String], limit: Int) {
        var list = "["
        var included = 0
        for string in strings {
            let item = JSONObject.quote(string)
            guard list.utf8.count + item.utf8.count + 2 <= limit else { break }
            if included > 0 { list += "," }
            list += item
            included += 1
        }
        add(key, raw: list + "]")
        if included < strings.count {
            add(key + "_count", raw: String(strings.count))
            add(key + "_truncated", raw: "true")
        }
    }

    /// `value` as a JSON string literal.
    public static func quote(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// The longest prefix of `value` whose escaped form (without quotes) takes at most `length`
    /// bytes.
    public static func prefix(of value: String, quotedLength length: Int) -> String {
        var out = ""
        var used = 0
        for scalar in value.unicodeScalars {
            used += escapedLength(scalar)
            guard used <= length else { break }
            out.unicodeScalars.append(scalar)
        }
        return out
    }

    private static func escapedLength(_ scalar: Unicode.Scalar) -> Int {
        switch scalar {
        case "\"", "\\", "\n", "\r", "\t": 2
        case _ where scalar.value < 0x20: 6
        default: UTF8.width(scalar)
        }
    }
}
