import Foundation
import Testing
import TickBusCore

/// The text lines and JSON objects `tickbus tap` prints.
@Suite struct RecordFormatterTests {
    /// 2024-01-02T09:30:00.123Z
    static let t0: Int64 = 1_704_187_800_123_000_000

    static func header(
        _ symbol: Symbol, market: Market = .stocks, flags: RecordFlags = [], sequence: UInt64 = 5, tsEvent: Int64 = t0
    ) -> RecordHeader {
        RecordHeader(market: market, flags: flags, epoch: 7, sequence: sequence, tsEvent: tsEvent, tsRecv: tsEvent + 5, symbol: symbol)
    }

    static let trade = Record.trade(Trade(
        header: header("AAPL"), price: try! Price(parsing: "114.125"), size: 100, upstreamSequence: 42,
        exchange: 4, tape: 3, conditions: try! Conditions([0, 12]), tradeID: "12345"))

    static let quote = Record.quote(Quote(
        header: header("EUR/USD", market: .forex, sequence: 9), bidPrice: try! Price(parsing: "1.0912"),
        askPrice: .null, bidSize: 1_000_000, askSize: 0, upstreamSequence: 0, bidExchange: 48, askExchange: 0))

    static let bar = Record.bar(Bar(
        header: header("AAPL", flags: [.local, .revision], sequence: 3, tsEvent: 1_704_187_800_000_000_000),
        open: try! Price(parsing: "475.32"), high: try! Price(parsing: "475.45"), low: try! Price(parsing: "475.28"),
        close: try! Price(parsing: "475.4"), vwap: try! Price(parsing: "475.3712"), volume: 15234, tradeCount: 120,
        interval: .minute))

    /// An index bar: no volume (NaN) and no VWAP (null price).
    static let indexBar = Record.bar(Bar(
        header: header("I:SPX", market: .indices, sequence: 1, tsEvent: 1_704_187_800_000_000_000),
        open: try! Price(parsing: "4742.83"), high: try! Price(parsing: "4745.1"), low: try! Price(parsing: "4741.05"),
        close: try! Price(parsing: "4744.9"), vwap: .null, volume: .nan, interval: .second))

    static let status = Record.status(Status(
        header: header("ingest", market: .unknown, sequence: 1), level: .warning,
        json: #"{"event":"reconnect","attempt":2,"note":"tab\tquote\" back\\ é"}"#))

    static let heartbeat = Record.heartbeat(Heartbeat(
        header: header("ingest", market: .unknown, sequence: 12), published: 1000, dropped: 2,
        startedAt: 1_704_187_000_000_000_000, topics: 3, subscriptions: 4, intervalMilliseconds: 1000))

    // MARK: Text

    @Test func tradeText() {
        #expect(RecordFormatter.text(Self.trade)
            == "2024-01-02T09:30:00.123Z T.AAPL #5 114.125 x100 ex=4 tape=3 cond=0,12 id=12345")
        // Absent fields are left out; flags come last.
        let bare = Record.trade(Trade(
            header: Self.header("BTC-USD", market: .crypto, flags: [.historical, .late], sequence: 1, tsEvent: 0),
            price: try! Price(parsing: "43000.5"), size: 0.00125))
        #expect(RecordFormatter.text(bare) == "1970-01-01T00:00:00Z T.BTC-USD #1 43000.5 x0.00125 [historical,late]")
    }

    @Test func quoteText() {
        #expect(RecordFormatter.text(Self.quote)
            == "2024-01-02T09:30:00.123Z Q.EUR/USD #9 bid 1.0912 x1000000 ask null x0 ex=48/0")
    }

    @Test func barText() {
        #expect(RecordFormatter.text(Self.bar)
            == "2024-01-02T09:30:00Z B1m.AAPL #3 1m O 475.32 H 475.45 L 475.28 C 475.4 V 15234 vwap 475.3712 n=120 [revision,local]")
        #expect(RecordFormatter.text(Self.indexBar)
            == "2024-01-02T09:30:00Z A.I:SPX #1 1s O 4742.83 H 4745.1 L 4741.05 C 4744.9 V null")
    }

    @Test func statusAndHeartbeatText() {
        #expect(RecordFormatter.text(Self.status)
            == #"2024-01-02T09:30:00.123Z S.ingest #1 warning {"event":"reconnect","attempt":2,"note":"tab\tquote\" back\\ é"}"#)
        #expect(RecordFormatter.text(Self.heartbeat)
            == "2024-01-02T09:30:00.123Z H.ingest #12 published=1000 dropped=2 topics=3 subscriptions=4")
    }

    // MARK: JSON

    static func parse(_ text: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try #require(object as? [String: Any], "not a JSON object: \(text)")
    }

    static func number(_ value: Any?) -> Double? { (value as? NSNumber)?.doubleValue }
    static func integer(_ value: Any?) -> Int64? { (value as? NSNumber)?.int64Value }
    static func isNull(_ value: Any?) -> Bool { value is NSNull }

    static let headerKeys = ["topic", "kind", "market", "flags", "epoch", "sequence", "ts_event", "ts_recv", "time", "symbol"]

    @Test func tradeJSON() throws {
        let text = RecordFormatter.json(Self.trade)
        #expect(text == #"{"topic":"T.AAPL","kind":"trade","market":"stocks","flags":[],"epoch":7,"sequence":5,"#
            + #""ts_event":1704187800123000000,"ts_recv":1704187800123000005,"time":"2024-01-02T09:30:00.123Z","#
            + #""symbol":"AAPL","price":114.125,"size":100,"upstream_sequence":42,"exchange":4,"tape":3,"#
            + #""conditions":[0,12],"trade_id":"12345"}"#)
        let json = try Self.parse(text)
        #expect(Set(json.keys) == Set(Self.headerKeys + [
            "price", "size", "upstream_sequence", "exchange", "tape", "conditions", "trade_id"]))
        #expect(json["topic"] as? String == "T.AAPL")
        #expect(json["kind"] as? String == "trade")
        #expect(json["market"] as? String == "stocks")
        #expect((json["flags"] as? [Any])?.isEmpty == true)
        #expect(Self.integer(json["epoch"]) == 7)
        #expect(Self.integer(json["sequence"]) == 5)
        #expect(Self.integer(json["ts_event"]) == 1_704_187_800_123_000_000)
        #expect(Self.integer(json["ts_recv"]) == 1_704_187_800_123_000_005)
        #expect(json["time"] as? String == "2024-01-02T09:30:00.123Z")
        #expect(json["symbol"] as? String == "AAPL")
        #expect(Self.number(json["price"]) == 114.125)
        #expect(Self.number(json["size"]) == 100)
        #expect(Self.integer(json["upstream_sequence"]) == 42)
        #expect(Self.integer(json["exchange"]) == 4)
        #expect(Self.integer(json["tape"]) == 3)
        #expect((json["conditions"] as? [NSNumber])?.map(\.intValue) == [0, 12])
        #expect(json["trade_id"] as? String == "12345")
    }

    @Test(arguments: [
        ("114.125", "114.125"),
        ("123456789.123456789", "123456789.123456789"),  // more digits than a Double holds
        ("0.000000001", "0.000000001"),
        ("0.0001", "0.0001"),
        ("-3", "-3"),
        ("-0.5", "-0.5"),
        ("100", "100"),
        ("0", "0"),
    ])
    func pricesAreExactDecimals(_ input: String, _ output: String) throws {
        let trade = Record.trade(Trade(header: Self.header("ES"), price: try Price(parsing: input), size: 1))
        let text = RecordFormatter.json(trade)
        #expect(text.contains(#","price":\#(output),"size":"#), "\(text)")
        let json = try Self.parse(text)
        #expect(Self.number(json["price"]) == Double(output))
    }

    @Test func quoteJSON() throws {
        let json = try Self.parse(RecordFormatter.json(Self.quote))
        #expect(Set(json.keys) == Set(Self.headerKeys + [
            "bid_price", "ask_price", "bid_size", "ask_size", "upstream_sequence", "bid_exchange", "ask_exchange",
            "condition", "tape"]))
        #expect(json["topic"] as? String == "Q.EUR/USD")
        #expect(json["kind"] as? String == "quote")
        #expect(json["market"] as? String == "forex")
        #expect(json["symbol"] as? String == "EUR/USD")
        #expect(Self.number(json["bid_price"]) == 1.0912)
        #expect(Self.isNull(json["ask_price"]), "a null price is JSON null")
        #expect(Self.number(json["bid_size"]) == 1_000_000)
        #expect(Self.number(json["ask_size"]) == 0)
        #expect(Self.integer(json["bid_exchange"]) == 48)
        #expect(Self.integer(json["ask_exchange"]) == 0)
        #expect(Self.integer(json["condition"]) == 0)
        #expect(Self.integer(json["sequence"]) == 9)
        #expect(RecordFormatter.json(Self.quote).contains(#""bid_price":1.0912,"ask_price":null,"#))
    }

    @Test func barJSON() throws {
        let json = try Self.parse(RecordFormatter.json(Self.bar))
        #expect(Set(json.keys) == Set(Self.headerKeys + [
            "open", "high", "low", "close", "vwap", "volume", "trade_count", "interval"]))
        #expect(json["topic"] as? String == "B1m.AAPL")
        #expect(json["kind"] as? String == "bar")
        #expect((json["flags"] as? [String]) == ["revision", "local"])
        #expect(Self.number(json["open"]) == 475.32)
        #expect(Self.number(json["high"]) == 475.45)
        #expect(Self.number(json["low"]) == 475.28)
        #expect(Self.number(json["close"]) == 475.4)
        #expect(Self.number(json["vwap"]) == 475.3712)
        #expect(Self.number(json["volume"]) == 15234)
        #expect(Self.integer(json["trade_count"]) == 120)
        #expect(Self.integer(json["interval"]) == 60)
        #expect(json["time"] as? String == "2024-01-02T09:30:00Z")

        let index = try Self.parse(RecordFormatter.json(Self.indexBar))
        #expect(index["topic"] as? String == "A.I:SPX")
        #expect(index["market"] as? String == "indices")
        #expect(Self.isNull(index["vwap"]), "null VWAP is JSON null")
        #expect(Self.isNull(index["volume"]), "NaN volume is JSON null")
        #expect(Self.integer(index["trade_count"]) == 0)
        #expect(Self.integer(index["interval"]) == 1)
    }

    @Test func statusJSON() throws {
        let json = try Self.parse(RecordFormatter.json(Self.status))
        #expect(Set(json.keys) == Set(Self.headerKeys + ["level", "json"]))
        #expect(json["topic"] as? String == "S.ingest")
        #expect(json["kind"] as? String == "status")
        #expect(json["market"] as? String == "unknown")
        #expect(json["level"] as? String == "warning")
        // The body travels as a string, escaped so that it parses back to the same text.
        let body = try #require(json["json"] as? String)
        guard case .status(let s) = Self.status else { return }
        #expect(body == s.json)
        let inner = try Self.parse(body)
        #expect(inner["event"] as? String == "reconnect")
        #expect(Self.integer(inner["attempt"]) == 2)
        #expect(inner["note"] as? String == "tab\tquote\" back\\ é")
    }

    @Test func heartbeatJSON() throws {
        let json = try Self.parse(RecordFormatter.json(Self.heartbeat))
        #expect(Set(json.keys) == Set(Self.headerKeys + [
            "published", "dropped", "started_at", "topics", "subscriptions", "interval_ms"]))
        #expect(json["topic"] as? String == "H.ingest")
        #expect(json["kind"] as? String == "heartbeat")
        #expect(Self.integer(json["published"]) == 1000)
        #expect(Self.integer(json["dropped"]) == 2)
        #expect(Self.integer(json["started_at"]) == 1_704_187_000_000_000_000)
        #expect(Self.integer(json["topics"]) == 3)
        #expect(Self.integer(json["subscriptions"]) == 4)
        #expect(Self.integer(json["interval_ms"]) == 1000)
        #expect(Self.integer(json["sequence"]) == 12)
    }

    @Test func everyFlagName() throws {
        let record = Record.trade(Trade(
            header: Self.header("AAPL", flags: .all), price: Price(units: 1), size: 1))
        #expect(RecordFormatter.text(record).hasSuffix(" [historical,revision,local,late]"))
        let json = try Self.parse(RecordFormatter.json(record))
        #expect((json["flags"] as? [String]) == ["historical", "revision", "local", "late"])
    }

    // MARK: Helpers

    @Test func numbers() {
        #expect(RecordFormatter.number(100) == "100")
        #expect(RecordFormatter.number(-2) == "-2")
        #expect(RecordFormatter.number(0) == "0")
        #expect(RecordFormatter.number(0.5) == "0.5")
        #expect(RecordFormatter.number(0.00125) == "0.00125")
        #expect(RecordFormatter.number(123456.789) == "123456.789")
        #expect(RecordFormatter.number(.nan) == "null")
        #expect(RecordFormatter.number(.infinity) == "null")
        #expect(RecordFormatter.number(-.infinity) == "null")
        // Large whole values stay valid JSON numbers.
        for value in [1e15, 1e20, 123_456_789_012_345_678.0] {
            let text = RecordFormatter.number(value)
            let parsed = try? JSONSerialization.jsonObject(with: Data("[\(text)]".utf8)) as? [NSNumber]
            #expect(parsed?.first?.doubleValue == value, "\(text)")
        }
    }

    @Test(arguments: [
        ("plain", #""plain""#),
        ("", #""""#),
        ("quote\"", #""quote\"""#),
        ("back\\slash", #""back\\slash""#),
        ("line\nfeed\rtab\t", #""line\nfeed\rtab\t""#),
        ("\u{0}\u{1}\u{1F}", #""\u0000\u0001\u001f""#),
        ("slash / and del \u{7F}", "\"slash / and del \u{7F}\""),
        ("é ü 😀 中", #""é ü 😀 中""#),
    ])
    func quoteEscapes(_ value: String, _ expected: String) throws {
        let quoted = JSONObject.quote(value)
        #expect(quoted == expected)
        let parsed = try JSONSerialization.jsonObject(with: Data("[\(quoted)]".utf8)) as? [String]
        #expect(parsed == [value], "round trip through a JSON parser")
    }

    @Test func jsonObjectBuilder() throws {
        #expect(JSONObject().text == "{}")
        var object = JSONObject()
        object.add("a", raw: "1")
        object.add("b\"", string: "x\ny")
        object.add("c", raw: "null")
        object.add("d", raw: "[1,2]")
        #expect(object.text == #"{"a":1,"b\"":"x\ny","c":null,"d":[1,2]}"#)
        let json = try Self.parse(object.text)
        #expect(Self.integer(json["a"]) == 1)
        #expect(json["b\""] as? String == "x\ny")
        #expect(Self.isNull(json["c"]))
        #expect((json["d"] as? [NSNumber])?.map(\.intValue) == [1, 2])
    }
}
