import TestSupport
import Testing
import TickBusCore

@Suite struct TopicTests {
    @Test(arguments: [
        ("T.AAPL", TopicKind.trade, "AAPL"),
        ("Q.AAPL", .quote, "AAPL"),
        ("A.X", .secondBar, "X"),
        ("AM.MSFT", .minuteBar, "MSFT"),
        ("B15s.AAPL", .bar(BarInterval(label: "15s")!), "AAPL"),
        ("B1d.SPY", .bar(.day), "SPY"),
        ("T.BRK.B", .trade, "BRK.B"),
        ("T.O:SPY251219C00650000", .trade, "O:SPY251219C00650000"),
        ("Q.EUR/USD", .quote, "EUR/USD"),
        ("T.BTC-USD", .trade, "BTC-USD"),
        ("AM.I:SPX", .minuteBar, "I:SPX"),
        ("S.ingest", .status, "ingest"),
        ("H.ingest", .heartbeat, "ingest"),
        ("T...", .trade, ".."),
    ])
    func parsesAndFormats(_ text: String, _ kind: TopicKind, _ symbol: String) throws {
        let topic = try Topic(parsing: text)
        #expect(topic.kind == kind)
        #expect(topic.symbol.description == symbol)
        #expect(topic.description == text)
        #expect(topic.exactPrefix == text + " ")
        #expect(try Topic(parsing: Substring(text)) == topic)
    }

    @Test func kindCodes() {
        #expect(TopicKind.trade.code == "T")
        #expect(TopicKind.quote.code == "Q")
        #expect(TopicKind.secondBar.code == "A")
        #expect(TopicKind.minuteBar.code == "AM")
        #expect(TopicKind.bar(.minute).code == "B1m")
        #expect(TopicKind.status.code == "S")
        #expect(TopicKind.heartbeat.code == "H")
        for code in ["T", "Q", "A", "AM", "B1m", "B15s", "B1h", "B1d", "S", "H"] {
            #expect(TopicKind(code: code)?.code == code)
        }
        for code in ["", "X", "t", "AMM", "B", "B0s", "Bs", "B15", "B15x", "B-1s", "B1.5m", "TQ"] {
            #expect(TopicKind(code: code) == nil, "\(code)")
        }
        // Labels parse leniently; the code is the canonical label.
        #expect(TopicKind(code: "B1min")?.code == "B1m")
        #expect(TopicKind(code: "B60s")?.code == "B1m")
    }

    @Test func nonCanonicalBarLabelParsesToCanonicalTopic() throws {
        let topic = try Topic(parsing: "B60s.AAPL")
        #expect(topic.kind == .bar(.minute))
        #expect(topic.description == "B1m.AAPL")
    }

    @Test func errors() {
        #expect(throws: TopicError.missingDot("TAAPL")) { try Topic(parsing: "TAAPL") }
        #expect(throws: TopicError.missingDot("")) { try Topic(parsing: "") }
        #expect(throws: TopicError.unknownKind("X")) { try Topic(parsing: "X.AAPL") }
        #expect(throws: TopicError.unknownKind("")) { try Topic(parsing: ".AAPL") }
        #expect(throws: TopicError.unknownKind("t")) { try Topic(parsing: "t.AAPL") }
        #expect(throws: TopicError.badSymbol("T.", "empty")) { try Topic(parsing: "T.") }
        for bad in ["T.ABCDEFGHIJKLMNOPQRSTUVWXY", "T.AA PL", "T.AAPL ", "T.AAPL\t", "T.AAPLé", "T.AA\u{0}PL"] {
            do {
                let topic = try Topic(parsing: bad)
                Issue.record("\(bad) parsed as \(topic)")
            } catch {
                guard case .badSymbol(let topic, _) = error else { Issue.record("\(bad): \(error)"); continue }
                #expect(topic == bad)
            }
        }
        // 24 bytes is the limit.
        #expect((try? Topic(parsing: "T.ABCDEFGHIJKLMNOPQRSTUVWX"))?.symbol.count == 24)
        #expect(TopicError.missingDot("x").description.contains("KIND.SYMBOL"))
        #expect(TopicError.unknownKind("X").description.contains("\"X\""))
        #expect(TopicError.badSymbol("T.", "empty").description.contains("empty"))
    }

    // MARK: Bar intervals

    @Test(arguments: [
        (UInt32(1), "1s"), (5, "5s"), (15, "15s"), (30, "30s"), (60, "1m"), (300, "5m"), (900, "15m"),
        (1800, "30m"), (3600, "1h"), (86400, "1d"), (90, "90s"), (120, "2m"), (7200, "2h"),
        (5400, "90m"), (172_800, "2d"), (90000, "25h"), (4_294_967_295, "4294967295s"),
    ])
    func intervalLabels(_ seconds: UInt32, _ label: String) throws {
        let interval = try BarInterval(seconds: seconds)
        #expect(interval.label == label)
        #expect(interval.description == label)
        #expect(BarInterval(label: label) == interval)
        #expect(interval.nanoseconds == Int64(seconds) * 1_000_000_000)
    }

    @Test func standardIntervals() {
        #expect(BarInterval.standard.map(\.label) == ["1s", "5s", "15s", "30s", "1m", "5m", "15m", "30m", "1h", "1d"])
        #expect(BarInterval.second.seconds == 1)
        #expect(BarInterval.minute.seconds == 60)
        #expect(BarInterval.hour.seconds == 3600)
        #expect(BarInterval.day.seconds == 86400)
        #expect(BarInterval.second < BarInterval.minute)
    }

    @Test func intervalLabelParsing() {
        #expect(BarInterval(label: "1min")?.seconds == 60)
        #expect(BarInterval(label: "15min")?.seconds == 900)
        #expect(BarInterval(label: "4h")?.seconds == 14400)
        #expect(BarInterval(label: "01m")?.seconds == 60)
        #expect(BarInterval(label: "1000000s")?.seconds == 1_000_000)
        #expect(BarInterval(label: "4294967295s")?.seconds == .max)
        for bad in ["", "s", "0s", "1", "1x", "1S", "1 s", "-1s", "1.5m", "1sec", "4294967296s", "00000000001s", "50000d", "١s"] {
            #expect(BarInterval(label: bad) == nil, "\(bad)")
        }
        #expect(throws: RecordError.invalidInterval(0)) { try BarInterval(seconds: 0) }
    }

    // MARK: Topic of a record

    static func bar(_ interval: BarInterval, _ flags: RecordFlags, _ symbol: Symbol = "AAPL") -> Record {
        .bar(Bar(
            header: testHeader(symbol, flags: flags), open: Price(units: 1), high: Price(units: 1),
            low: Price(units: 1), close: Price(units: 1), volume: 1, interval: interval))
    }

    @Test func topicOfRecord() throws {
        let h = testHeader("BRK.B")
        #expect(Topic(of: .trade(Trade(header: h, price: Price(units: 1), size: 1))).description == "T.BRK.B")
        #expect(Topic(of: .quote(Quote(header: h, bidPrice: .null, askPrice: .null, bidSize: 0, askSize: 0))).description == "Q.BRK.B")
        #expect(Topic(of: .status(Status(header: testHeader("ingest"), level: .info, json: "{}"))).description == "S.ingest")
        #expect(Topic(of: .heartbeat(Heartbeat(
            header: testHeader("bars"), published: 0, dropped: 0, startedAt: 0, topics: 0, subscriptions: 0,
            intervalMilliseconds: 1000))).description == "H.bars")

        // Upstream 1 s and 1 min bars keep Massive's names; everything else is B<label>.
        let fifteen = try BarInterval(seconds: 15)
        let cases: [(Record, String)] = [
            (Self.bar(.second, []), "A.AAPL"),
            (Self.bar(.minute, []), "AM.AAPL"),
            (Self.bar(.second, [.historical]), "A.AAPL"),
            (Self.bar(.minute, [.historical, .revision, .late]), "AM.AAPL"),
            (Self.bar(.second, [.local]), "B1s.AAPL"),
            (Self.bar(.minute, [.local]), "B1m.AAPL"),
            (Self.bar(fifteen, [.local, .revision]), "B15s.AAPL"),
            (Self.bar(fifteen, []), "B15s.AAPL"),
            (Self.bar(.day, [.historical]), "B1d.AAPL"),
            (Self.bar(.hour, []), "B1h.AAPL"),
        ]
        for (record, topic) in cases {
            #expect(Topic(of: record).description == topic)
            // BusMessage writes the same topic, without allocating.
            let message = BusMessage.encode(record)
            #expect(String(decoding: message.prefix(topic.utf8.count + 1), as: UTF8.self) == topic + " ")
        }
    }

    /// Every topic a bar can be published under, for standard and odd intervals, fits the
    /// topic room and parses back to the same topic.
    @Test func barTopicsParseBack() throws {
        var rng = SplitMix64(seed: 9)
        var intervals = BarInterval.standard
        for _ in 0..<200 { intervals.append(try BarInterval(seconds: UInt32.random(in: 1...UInt32.max, using: &rng))) }
        for interval in intervals {
            for flags: RecordFlags in [[], [.local], [.historical]] {
                let record = Self.bar(interval, flags, "ABCDEFGHIJKLMNOPQRSTUVWX")
                var buffer = [UInt8](repeating: 0, count: BusMessage.maxTopicSize)
                let n = buffer.withUnsafeMutableBytes { BusMessage.writeTopic(of: record, into: $0) }
                #expect(n < BusMessage.maxTopicSize)
                let text = String(decoding: buffer[..<n], as: UTF8.self)
                #expect(try Topic(parsing: text) == Topic(of: record), "\(text)")
            }
        }
    }

    @Test func exactPrefix() throws {
        let topic = try Topic(parsing: "T.AAPL")
        #expect(topic.exactPrefix == "T.AAPL ")
        let message = BusMessage.encode(.trade(Trade(header: testHeader("AAPL"), price: Price(units: 1), size: 1)))
        #expect(message.starts(with: Array(topic.exactPrefix.utf8)))
        // "T.AAPL " does not match T.AAPLX's messages, though "T.AAPL" would.
        let other = BusMessage.encode(.trade(Trade(header: testHeader("AAPLX"), price: Price(units: 1), size: 1)))
        #expect(!other.starts(with: Array(topic.exactPrefix.utf8)))
        #expect(other.starts(with: Array(topic.description.utf8)))
    }
}
