import Testing
import TickBusCore

/// User patterns → ZeroMQ subscription prefixes, and matching them against encoded messages.
@Suite struct TopicFilterTests {
    static func prefix(_ pattern: String) throws -> String {
        String(decoding: try TopicFilter(pattern).prefix, as: UTF8.self)
    }

    @Test(arguments: [
        // An exact topic ends with the space that follows a topic on the wire.
        ("T.AAPL", "T.AAPL ", "T.AAPL"),
        ("Q.EUR/USD", "Q.EUR/USD ", "Q.EUR/USD"),
        ("T.BRK.B", "T.BRK.B ", "T.BRK.B"),
        ("B15s.AAPL", "B15s.AAPL ", "B15s.AAPL"),
        ("B60s.AAPL", "B1m.AAPL ", "B1m.AAPL"),
        ("H.ingest", "H.ingest ", "H.ingest"),
        // A kind: every topic of it.
        ("T.", "T.", "T.*"),
        ("T.*", "T.", "T.*"),
        ("B15s.", "B15s.", "B15s.*"),
        ("B1min.", "B1m.", "B1m.*"),
        ("B60s.*", "B1m.", "B1m.*"),
        ("AM.", "AM.", "AM.*"),
        // A symbol prefix.
        ("T.AA*", "T.AA", "T.AA*"),
        ("T.BRK.", "T.BRK.", "T.BRK.*"),
        ("Q.O:SPY*", "Q.O:SPY", "Q.O:SPY*"),
        // Everything.
        ("*", "", "*"),
        ("", "", "*"),
    ])
    func prefixes(_ pattern: String, _ prefix: String, _ description: String) throws {
        let filter = try TopicFilter(pattern)
        #expect(String(decoding: filter.prefix, as: UTF8.self) == prefix)
        #expect(filter.description == description)
        // The description is itself a pattern for the same filter.
        #expect(try TopicFilter(filter.description) == filter)
    }

    @Test func exactlyATopic() throws {
        let topic = try Topic(parsing: "T.AAPL")
        #expect(TopicFilter(exactly: topic) == (try TopicFilter("T.AAPL")))
        #expect(TopicFilter(exactly: topic).prefix == Array("T.AAPL ".utf8))
        #expect(TopicFilter(exactly: Topic(kind: .bar(.minute), symbol: "SPY")).prefix == Array("B1m.SPY ".utf8))
    }

    @Test func invalidPatternsThrow() {
        #expect(throws: TopicError.unknownKind("X")) { try TopicFilter("X.AAPL") }
        #expect(throws: TopicError.missingDot("T")) { try TopicFilter("T") }
        #expect(throws: TopicError.missingDot("AAPL")) { try TopicFilter("AAPL") }
        #expect(throws: TopicError.self) { try TopicFilter("T.A B") }
        #expect(throws: TopicError.self) { try TopicFilter("T.AAPL ") }
        #expect(throws: TopicError.self) { try TopicFilter(String(repeating: "A", count: 25).withKind("T")) }
        #expect(throws: TopicError.unknownKind("X")) { try TopicFilter("X.") }
        #expect(throws: TopicError.unknownKind("")) { try TopicFilter(".") }
        #expect(throws: TopicError.unknownKind("B15x")) { try TopicFilter("B15x.") }
        #expect(throws: TopicError.unknownKind("t")) { try TopicFilter("t.AAPL") }
        // A wildcard is held to the same rules as the kind and symbol it stands for.
        #expect(throws: TopicError.unknownKind("X")) { try TopicFilter("X.*") }
        #expect(throws: TopicError.unknownKind("TT")) { try TopicFilter("TT.AA*") }
        #expect(throws: TopicError.self) { try TopicFilter("T.A B*") }
        #expect(throws: TopicError.self) { try TopicFilter("T." + String(repeating: "A", count: 25) + "*") }
        if case .badSymbol(let pattern, _)? = (#expect(throws: TopicError.self) { try TopicFilter("T.A B") }) {
            #expect(pattern == "T.A B")
        } else {
            Issue.record("T.A B should be a bad symbol")
        }
    }

    static func message(_ record: Record) -> [UInt8] { BusMessage.encode(record) }

    static func trade(_ symbol: Symbol) -> Record {
        .trade(Trade(header: testHeader(symbol), price: Price(units: 1), size: 1))
    }

    static func matches(_ pattern: String, _ record: Record) throws -> Bool {
        let filter = try TopicFilter(pattern)
        return message(record).withUnsafeBytes { filter.matches($0) }
    }

    @Test func matchesEncodedMessages() throws {
        let aapl = Self.trade("AAPL")
        let aaplw = Self.trade("AAPLW")
        let msft = Self.trade("MSFT")
        let quote = Record.quote(Quote(
            header: testHeader("AAPL"), bidPrice: Price(units: 1), askPrice: Price(units: 2), bidSize: 1, askSize: 1))
        let bar15 = Record.bar(Bar(
            header: testHeader("AAPL", flags: [.local]), open: Price(units: 1), high: Price(units: 1),
            low: Price(units: 1), close: Price(units: 1), volume: 1, interval: try BarInterval(seconds: 15)))
        let minute = Record.bar(Bar(
            header: testHeader("AAPL", flags: [.local]), open: Price(units: 1), high: Price(units: 1),
            low: Price(units: 1), close: Price(units: 1), volume: 1, interval: .minute))

        // Exact: never the longer symbol.
        #expect(try Self.matches("T.AAPL", aapl))
        #expect(try !Self.matches("T.AAPL", aaplw))
        #expect(try !Self.matches("T.AAPL", msft))
        #expect(try !Self.matches("T.AAPL", quote))
        #expect(try Self.matches("T.AAPLW", aaplw))
        #expect(try !Self.matches("T.AAPLW", aapl))
        // Kind and symbol prefixes.
        for pattern in ["T.", "T.*"] {
            #expect(try Self.matches(pattern, aapl) && Self.matches(pattern, aaplw) && Self.matches(pattern, msft))
            #expect(try !Self.matches(pattern, quote))
        }
        #expect(try Self.matches("T.AA*", aapl) && Self.matches("T.AA*", aaplw))
        #expect(try !Self.matches("T.AA*", msft))
        #expect(try !Self.matches("Q.", aapl) && !Self.matches("Q.", aaplw))
        #expect(try Self.matches("Q.", quote) && Self.matches("Q.AAPL", quote))
        // Bars by label, whatever spelling the user typed.
        #expect(try Self.matches("B15s.", bar15) && !Self.matches("B15s.", minute))
        #expect(try Self.matches("B1min.", minute) && Self.matches("B60s.AAPL", minute) && Self.matches("B1m.*", minute))
        #expect(try !Self.matches("B1m.", bar15))
        // Everything.
        for record in [aapl, aaplw, msft, quote, bar15, minute] {
            #expect(try Self.matches("*", record) && Self.matches("", record))
        }
    }

    @Test func matchesRawBytes() throws {
        let filter = try TopicFilter("T.AAPL")
        func matches(_ text: String) -> Bool { Array(text.utf8).withUnsafeBytes { filter.matches($0) } }
        #expect(matches("T.AAPL "))
        #expect(matches("T.AAPL xyz"))
        #expect(!matches("T.AAPL"), "shorter than the prefix")
        #expect(!matches(""))
        #expect(!matches("T.AAPLW x"))
        #expect(!matches("t.AAPL x"))
        let everything = try TopicFilter("*")
        #expect([UInt8]().withUnsafeBytes { everything.matches($0) })
    }
}

private extension String {
    /// `KIND.` + self.
    func withKind(_ kind: String) -> String { kind + "." + self }
}
