import Foundation
import MassiveREST
import Testing
import TickBusCore

/// Parses a literal body as a page of `kind` for `symbol`.
func parse(_ body: String, _ kind: HistoryKind, symbol: Symbol = "AAPL", market: TickBusCore.Market = .stocks) throws -> RESTPage {
    var parser = RESTPageParser(kind: kind, symbol: symbol, market: market)
    return try Array(body.utf8).withUnsafeBytes { try parser.parse($0, receivedAt: 42) }
}

func bars(_ page: RESTPage) -> [Bar] {
    page.records.compactMap { if case .bar(let b) = $0 { b } else { nil } }
}

@Suite("REST page parsing")
struct PageParserTests {
    @Test("aggregates: Massive's fixture, integer and exponent volumes, missing n and vw, unknown keys")
    func aggregates() throws {
        let body = """
            {"ticker":"AAPL","queryCount":3,"resultsCount":3,"adjusted":true,"results":[
              {"v":642646396.0,"vw":1.469,"o":1.5032,"c":1.4604,"h":1.5064,"l":1.4489,"t":1112331600000,"n":82132},
              {"v":1.029145e+06,"o":230,"c":230.01,"h":230.02,"l":229.99,"t":1112587200000,"otc":true,"extra":{"a":[1,{"b":null}]}},
              {"v":0.5,"vw":12,"o":1,"c":2,"h":3,"l":0.5,"t":1112673600000,"n":7}
            ],"status":"OK","request_id":"6a7e466379af0a71039d60cc78e72282","count":3}
            """
        let page = try parse(body, .dayBars)
        #expect(page.nextURL == nil)
        #expect(page.skipped == 0)
        let b = bars(page)
        try #require(b.count == 3)
        #expect(b[0].header == RecordHeader(
            market: .stocks, flags: .historical, tsEvent: 1_112_331_600_000_000_000, tsRecv: 42, symbol: "AAPL"))
        #expect(b[0].open == (try Price(parsing: "1.5032")))
        #expect(b[0].high == (try Price(parsing: "1.5064")))
        #expect(b[0].low == (try Price(parsing: "1.4489")))
        #expect(b[0].close == (try Price(parsing: "1.4604")))
        #expect(b[0].vwap == (try Price(parsing: "1.469")))
        #expect(b[0].volume == 642_646_396)
        #expect(b[0].tradeCount == 82_132)
        #expect(b[0].interval == .day)
        #expect(b[1].volume == 1_029_145, "exponent form")
        #expect(b[1].vwap.isNull, "vw missing")
        #expect(b[1].tradeCount == 0, "n missing")
        #expect(b[1].open == Price(units: 230), "integer prices")
        #expect(b[2].volume == 0.5, "fractional volume")
        #expect(b[2].vwap == Price(units: 12))
    }

    @Test("no data: results missing, null or empty; next_url kept, escapes resolved")
    func emptyPages() throws {
        for body in [
            #"{"ticker":"AAPL","queryCount":0,"resultsCount":0,"adjusted":true,"status":"OK","request_id":"x"}"#,
            #"{"ticker":"AAPL","results":null,"resultsCount":0,"status":"OK"}"#,
            #"{"results":[],"status":"OK"}"#,
            #"{}"#,
            " \n{ \"results\" : [ ] } \n",
        ] {
            let page = try parse(body, .minuteBars)
            #expect(page.records.isEmpty, "\(body)")
            #expect(page.nextURL == nil)
        }
        let page = try parse(#"{"results":null,"next_url":"https:\/\/api.massive.com\/v3\/trades\/AAPL?cursor=YXA\u003d1"}"#, .trades)
        #expect(page.nextURL == "https://api.massive.com/v3/trades/AAPL?cursor=YXA=1")
        let pair = try parse(#"{"results":[],"next_url":"https://x/?q=\ud83d\ude00"}"#, .trades)
        #expect(pair.nextURL == "https://x/?q=😀", "a surrogate pair is one scalar")
    }

    @Test("v3 trades: Massive's fixture; decimal size wins; first four conditions; ids")
    func trades() throws {
        let body = """
            {"results":[{"conditions":[12,37],"correction":1,"exchange":11,"id":"183276","participant_timestamp":1651181822461636600,"price":156.43,"sequence_number":7179341,"sip_timestamp":1651181822461979400,"size":10,"tape":3,"trf_id":3,"trf_timestamp":1651181557090806500},
            {"conditions":[1,2,3,4,5,6],"decimal_size":"0.25","exchange":4,"id":"this-id-is-longer-than-twenty-four-bytes","price":1,"sequence_number":2,"sip_timestamp":1651181822461979401,"size":0,"tape":1},
            {"exchange":1,"id":"7","participant_timestamp":1651181822000000000,"price":95000.5,"size":0.00012}],
            "status":"OK","request_id":"a","next_url":"https://api.massive.com/v3/trades/AAPL?cursor=abc"}
            """
        let page = try parse(body, .trades)
        #expect(page.nextURL == "https://api.massive.com/v3/trades/AAPL?cursor=abc")
        let trades = page.records.compactMap { if case .trade(let t) = $0 { t } else { nil } }
        try #require(trades.count == 3)
        let t = trades[0]
        #expect(t.header == RecordHeader(
            market: .stocks, flags: .historical, tsEvent: 1_651_181_822_461_979_400, tsRecv: 42, symbol: "AAPL"))
        #expect(t.price == (try Price(parsing: "156.43")))
        #expect(t.size == 10)
        #expect(t.exchange == 11)
        #expect(t.tape == 3)
        #expect(t.conditions.codes == [12, 37])
        #expect(t.tradeID == "183276")
        #expect(t.upstreamSequence == 7_179_341)
        #expect(trades[1].size == 0.25, "decimal_size wins over size")
        #expect(trades[1].conditions.codes == [1, 2, 3, 4])
        #expect(trades[1].tradeID.isEmpty, "an id longer than a record holds is dropped")
        #expect(page.cuts == [.conditionsTruncated: 1, .tradeIDTooLong: 1], "counted as the WebSocket decoder counts them")
        #expect(trades[2].header.tsEvent == 1_651_181_822_000_000_000, "participant_timestamp without sip_timestamp")
        #expect(trades[2].size == 0.00012)
        #expect(trades[2].conditions.count == 0)
    }

    @Test("v3 quotes: stocks with sizes and a condition; forex without sizes")
    func quotes() throws {
        let body = """
            {"results":[{"ask_exchange":12,"ask_price":231.41,"ask_size":300,"bid_exchange":11,"bid_price":231.4,"bid_size":100,"conditions":[1],"indicators":[604],"participant_timestamp":1,"sequence_number":9,"sip_timestamp":1741100400000000123,"tape":3},
            {"ask_exchange":48,"ask_price":1.0851,"bid_exchange":48,"bid_price":1.085,"participant_timestamp":1741100400000000124}],"status":"OK"}
            """
        let page = try parse(body, .quotes, symbol: "EUR/USD", market: .forex)
        let quotes = page.records.compactMap { if case .quote(let q) = $0 { q } else { nil } }
        try #require(quotes.count == 2)
        #expect(quotes[0].header.tsEvent == 1_741_100_400_000_000_123)
        #expect(quotes[0].header.symbol == "EUR/USD")
        #expect(quotes[0].header.market == .forex)
        #expect(quotes[0].askPrice == (try Price(parsing: "231.41")))
        #expect(quotes[0].bidPrice == (try Price(parsing: "231.4")))
        #expect(quotes[0].askSize == 300 && quotes[0].bidSize == 100)
        #expect(quotes[0].askExchange == 12 && quotes[0].bidExchange == 11)
        #expect(quotes[0].condition == 1 && quotes[0].tape == 3 && quotes[0].upstreamSequence == 9)
        #expect(quotes[1].askSize.isNaN && quotes[1].bidSize.isNaN)
        #expect(quotes[1].header.tsEvent == 1_741_100_400_000_000_124)
    }

    @Test("results without a usable time or price, or with wrong types, are skipped and counted")
    func skippedResults() throws {
        let body = """
            {"results":[{"o":1,"h":1,"l":1,"c":1,"v":1},{"o":"x","h":1,"l":1,"c":1,"t":1},{"o":1,"h":1,"l":1,"c":1,"t":2,"n":1.5},
            {"o":1,"h":1,"l":1,"c":1,"t":3},{"o":1,"h":1,"l":1,"c":1,"t":99999999999999999}]}
            """
        let page = try parse(body, .minuteBars)
        #expect(page.skipped == 4)
        #expect(bars(page).map(\.header.tsEvent) == [3_000_000])
    }

    @Test("malformed bodies are errors, never crashes", arguments: [
        "", "   ", "[]", "null", "<html>503</html>", #"{"results":[{"o":1"#, #"{"results":{}}"#,
        #"{"results":[1,2]}"#, #"{"results":[]} x"#, #"{"next_url":5}"#, #"{"results":[{"t":1,}]}"#,
    ])
    func malformed(_ body: String) {
        #expect(throws: RESTPageError.self) { try parse(body, .secondBars) }
    }

    @Test("every truncation and many byte flips of a page parse or throw, without crashing")
    func fuzz() throws {
        let body = Array(RESTBenchmark.pageBody(bars: 20).utf8)
        var parser = RESTPageParser(kind: .secondBars, symbol: "AAPL", market: .stocks)
        for end in 0..<body.count {
            let page = body[0..<end].withUnsafeBytes { try? parser.parse($0, receivedAt: 0) }
            #expect(page == nil || end >= body.count - 1)
        }
        var generator = SystemRandomNumberGenerator()
        let replacements = Array(#"{}[]",:.-+eE0 9nt"\x"#.utf8)
        for _ in 0..<5_000 {
            var mutated = body
            for _ in 0..<3 {
                mutated[Int.random(in: 0..<mutated.count, using: &generator)] = replacements.randomElement(using: &generator)!
            }
            _ = mutated.withUnsafeBytes { try? parser.parse($0, receivedAt: 0) }
        }
        let whole = try body.withUnsafeBytes { try parser.parse($0, receivedAt: 0) }
        #expect(whole.records.count == 20)
    }

    @Test("the benchmark body parses completely")
    func benchmark() {
        let result = RESTBenchmark.parseRate(bars: 1_000, repetitions: 2)
        #expect(result.records == 2_000)
        #expect(result.recordsPerSecond > 0)
    }
}
