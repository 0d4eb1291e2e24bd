import Massive
import Testing
import TickBusCore

/// Every example payload of Massive's WebSocket spec decodes to the record it describes,
/// field by field (values read off the spec by hand).
struct SpecExampleTests {
    static let receivedAt: Int64 = 1_700_000_000_123_456_789

    func decode(_ path: String, _ market: Market) throws -> (events: [MassiveEvent], counters: DecodeCounters) {
        let text = try #require(SpecExamples.all[path], "no example for \(path) in the spec fixture")
        var decoder = MassiveDecoder(market: market)
        var events: [MassiveEvent] = []
        Array(text.utf8).withUnsafeBytes { decoder.decode($0, receivedAt: Self.receivedAt) { events.append($0) } }
        #expect(decoder.counters.problemTotal == 0, "\(decoder.counters.problems)")
        return (events, decoder.counters)
    }

    func single(_ path: String, _ market: Market) throws -> Record {
        let (events, _) = try decode(path, market)
        try #require(events.count == 1)
        guard case .record(let record) = events[0] else { throw SpecTestError.notARecord }
        #expect(record.header.tsRecv == Self.receivedAt)
        #expect(record.header.market == market)
        #expect(record.header.epoch == 0 && record.header.sequence == 0 && record.header.flags.isEmpty)
        return record
    }

    func p(_ text: String) -> Price { try! Price(parsing: text) }

    @Test func fixtureHasEveryChannel() {
        #expect(SpecExamples.all.count >= 30, "\(SpecExamples.all.keys.sorted())")
    }

    @Test func stocksTrade() throws {
        guard case .trade(let t) = try single("/stocks/T", .stocks) else { throw SpecTestError.wrongKind }
        #expect(t.header.symbol == "MSFT")
        #expect(t.header.tsEvent == 1_536_036_818_784_000_000)
        #expect(t.price == p("114.125"))
        #expect(t.size == 100)
        #expect(t.exchange == 4)
        #expect(t.tape == 3)
        #expect(t.conditions.codes == [0, 12])
        #expect(t.tradeID == "12345")
        #expect(t.upstreamSequence == 3_681_328)
    }

    @Test func stocksQuote() throws {
        guard case .quote(let q) = try single("/stocks/Q", .stocks) else { throw SpecTestError.wrongKind }
        #expect(q.header.symbol == "MSFT")
        #expect(q.bidExchange == 4 && q.askExchange == 7)
        #expect(q.bidPrice == p("114.125") && q.askPrice == p("114.128"))
        #expect(q.bidSize == 100 && q.askSize == 160)
        #expect(q.condition == 0 && q.tape == 3)
        #expect(q.upstreamSequence == 50_385_480)
        #expect(q.header.tsEvent == 1_536_036_818_784_000_000)
    }

    @Test func stocksSecondBar() throws {
        guard case .bar(let b) = try single("/stocks/A", .stocks) else { throw SpecTestError.wrongKind }
        #expect(b.header.symbol == "SPCE")
        #expect(b.interval == .second)
        #expect(b.header.tsEvent == 1_610_144_868_000_000_000)
        #expect(b.open == p("25.39") && b.high == p("25.39") && b.low == p("25.39") && b.close == p("25.39"))
        #expect(b.vwap == p("25.3981"))
        #expect(b.volume == 200)
        #expect(Topic(of: .bar(b)).description == "A.SPCE")
    }

    @Test func stocksMinuteBar() throws {
        guard case .bar(let b) = try single("/stocks/AM", .stocks) else { throw SpecTestError.wrongKind }
        #expect(b.header.symbol == "GTE")
        #expect(b.interval == .minute)
        #expect(b.header.tsEvent == 1_610_144_640_000_000_000)
        #expect(b.open == p("0.4488") && b.high == p("0.4489") && b.low == p("0.4486") && b.close == p("0.4486"))
        #expect(b.vwap == p("0.4488") && b.volume == 4110)
        #expect(Topic(of: .bar(b)).description == "AM.GTE")
    }

    @Test(arguments: [
        ("/stocks/LULD", Market.stocks, "LULD"), ("/stocks/NOI", .stocks, "NOI"),
        ("/business/stocks/FMV", .stocks, "FMV"), ("/launchpad/stocks/LV", .stocks, "LV"),
        ("/business/options/FMV", .options, "FMV"), ("/launchpad/options/LV", .options, "LV"),
        ("/business/forex/FMV", .forex, "FMV"), ("/launchpad/forex/LV", .forex, "LV"),
        ("/crypto/XL2", .crypto, "XL2"), ("/business/crypto/FMV", .crypto, "FMV"),
        ("/launchpad/crypto/LV", .crypto, "LV"),
    ])
    func countedNotPublished(path: String, market: Market, ev: String) throws {
        let (events, counters) = try decode(path, market)
        #expect(events.isEmpty)
        #expect(counters.unpublished == [ev: 1])
        #expect(counters.events == 1 && counters.records == 0)
    }

    @Test func launchpadMinuteBars() throws {
        guard case .bar(let stock) = try single("/launchpad/stocks/AM", .stocks) else { throw SpecTestError.wrongKind }
        #expect(stock.header.symbol == "GTE" && stock.interval == .minute)
        guard case .bar(let fx) = try single("/launchpad/forex/AM", .forex) else { throw SpecTestError.wrongKind }
        #expect(fx.header.symbol == "C:USD-EUR" && fx.low == p("0.9206"))
        guard case .bar(let crypto) = try single("/launchpad/crypto/AM", .crypto) else { throw SpecTestError.wrongKind }
        #expect(crypto.header.symbol == "X:BTC-USD" && crypto.volume == 951.6112 && crypto.high == p("27893.8"))
        guard case .bar(let option) = try single("/launchpad/options/AM", .options) else { throw SpecTestError.wrongKind }
        #expect(option.header.symbol == "O:ONEM220121C00025000" && option.volume == 2)
    }

    @Test func optionsTrade() throws {
        guard case .trade(let t) = try single("/options/T", .options) else { throw SpecTestError.wrongKind }
        #expect(t.header.symbol == "O:AMC210827C00037000")
        #expect(t.exchange == 65 && t.price == p("1.54") && t.size == 1)
        #expect(t.conditions.codes == [233])
        #expect(t.header.tsEvent == 1_629_820_676_333_000_000 && t.upstreamSequence == 651_921_857)
        #expect(t.tradeID.isEmpty && t.tape == 0)
    }

    @Test func optionsQuote() throws {
        guard case .quote(let q) = try single("/options/Q", .options) else { throw SpecTestError.wrongKind }
        #expect(q.header.symbol == "O:SPY241220P00720000")
        #expect(q.bidExchange == 302 && q.askExchange == 302)
        #expect(q.bidPrice == p("9.71") && q.askPrice == p("9.81") && q.bidSize == 17 && q.askSize == 24)
        #expect(q.header.tsEvent == 1_644_506_128_351_000_000 && q.upstreamSequence == 844_090_872)
    }

    @Test func optionsBars() throws {
        // The spec's /options/A example says "ev": "AM"; it decodes as what it says it is.
        for path in ["/options/A", "/options/AM"] {
            guard case .bar(let b) = try single(path, .options) else { throw SpecTestError.wrongKind }
            #expect(b.header.symbol == "O:ONEM220121C00025000")
            #expect(b.interval == .minute && b.volume == 2 && b.vwap == p("2.05") && b.open == p("2.05"))
            #expect(b.header.tsEvent == 1_632_419_640_000_000_000)
        }
    }

    @Test func forexQuote() throws {
        guard case .quote(let q) = try single("/forex/C", .forex) else { throw SpecTestError.wrongKind }
        #expect(q.header.symbol == "USD/CNH")
        #expect(q.bidExchange == 44 && q.askExchange == 44)
        #expect(q.askPrice == p("6.83366") && q.bidPrice == p("6.83363"))
        #expect(q.bidSize.isNaN && q.askSize.isNaN)
        #expect(q.header.tsEvent == 1_536_036_818_784_000_000)
    }

    @Test func forexBars() throws {
        guard case .bar(let minute) = try single("/forex/CA", .forex) else { throw SpecTestError.wrongKind }
        guard case .bar(let second) = try single("/forex/CAS", .forex) else { throw SpecTestError.wrongKind }
        #expect(minute.interval == .minute && second.interval == .second)
        for b in [minute, second] {
            #expect(b.header.symbol == "USD/EUR")
            #expect(b.open == p("0.8687") && b.close == p("0.86889") && b.high == p("0.86889") && b.low == p("0.8686"))
            #expect(b.volume == 20 && b.vwap.isNull)
            #expect(b.header.tsEvent == 1_539_145_740_000_000_000)
        }
        #expect(Topic(of: .bar(minute)).description == "AM.USD/EUR")
    }

    @Test func cryptoTrade() throws {
        guard case .trade(let t) = try single("/crypto/XT", .crypto) else { throw SpecTestError.wrongKind }
        #expect(t.header.symbol == "BTC-USD")
        #expect(t.price == p("33021.9") && t.size == 0.01616617)
        #expect(t.conditions.codes == [2] && t.tradeID == "14272084" && t.exchange == 3)
        #expect(t.header.tsEvent == 1_610_462_007_425_000_000)
        #expect(Topic(of: .trade(t)).description == "T.BTC-USD")
    }

    @Test func cryptoQuote() throws {
        guard case .quote(let q) = try single("/crypto/XQ", .crypto) else { throw SpecTestError.wrongKind }
        #expect(q.header.symbol == "BTC-USD")
        #expect(q.bidPrice == p("33052.79") && q.bidSize == 0.48 && q.askPrice == p("33073.19") && q.askSize == 0.601)
        #expect(q.bidExchange == 1 && q.askExchange == 1)
        #expect(q.header.tsEvent == 1_610_462_411_115_000_000)
    }

    @Test func cryptoBars() throws {
        guard case .bar(let minute) = try single("/crypto/XA", .crypto) else { throw SpecTestError.wrongKind }
        guard case .bar(let second) = try single("/crypto/XAS", .crypto) else { throw SpecTestError.wrongKind }
        #expect(minute.interval == .minute && second.interval == .second)
        for b in [minute, second] {
            #expect(b.header.symbol == "BCD-USD")
            #expect(b.volume == 951.6112 && b.vwap == p("0.7756"))
            #expect(b.open == p("0.772") && b.close == p("0.784") && b.high == p("0.784") && b.low == p("0.771"))
            #expect(b.header.tsEvent == 1_610_463_240_000_000_000)
        }
    }

    @Test func indexBarsAndValue() throws {
        for path in ["/indices/A", "/indices/AM"] {
            guard case .bar(let b) = try single(path, .indices) else { throw SpecTestError.wrongKind }
            #expect(b.header.symbol == "I:SPX" && b.open == p("3985.67") && b.close == p("3985.67"))
            #expect(b.volume.isNaN && b.vwap.isNull)
            #expect(b.header.tsEvent == 1_678_220_675_805_000_000)
        }
        guard case .trade(let v) = try single("/indices/V", .indices) else { throw SpecTestError.wrongKind }
        #expect(v.header.symbol == "I:SPX" && v.price == p("3988.5") && v.size.isNaN)
        #expect(v.header.tsEvent == 1_678_220_098_130_000_000)
    }
}

enum SpecTestError: Error {
    case notARecord, wrongKind
}
