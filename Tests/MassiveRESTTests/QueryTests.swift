import MassiveREST
import Testing
import TickBusCore

@Suite("History queries")
struct QueryTests {
    @Test("bus symbols map to REST tickers per market", arguments: [
        ("AAPL", TickBusCore.Market.stocks, "AAPL"), ("BRK.B", .stocks, "BRK.B"),
        ("O:SPY251219C00650000", .options, "O:SPY251219C00650000"), ("I:SPX", .indices, "I:SPX"),
        ("BTC-USD", .crypto, "X:BTCUSD"), ("eth-usd", .crypto, "X:ETHUSD"), ("EUR/USD", .forex, "C:EURUSD"),
    ])
    func tickers(_ symbol: String, _ market: TickBusCore.Market, _ ticker: String) throws {
        #expect(try HistoryQuery.restTicker(symbol: symbol, market: market) == ticker)
        let query = try HistoryQuery(symbol: symbol, market: market, kind: .minuteBars, from: "2025-03-03", to: "2025-03-04")
        #expect(query.ticker == ticker)
        #expect(query.symbol.description == symbol, "records carry the bus symbol")
    }

    @Test("symbols not in the market's bus form are refused", arguments: [
        ("X:BTCUSD", TickBusCore.Market.crypto), ("BTCUSD", .crypto), ("BTC-", .crypto), ("C:EURUSD", .forex),
        ("EUR-USD", .forex), ("SPY251219C00650000", .options), ("SPX", .indices), ("EUR/USD", .stocks), ("", .stocks),
        ("A B", .stocks), ("ABCDEFGHIJKLMNOPQRSTUVWXYZ", .stocks),
    ])
    func badSymbols(_ symbol: String, _ market: TickBusCore.Market) {
        #expect {
            try HistoryQuery(symbol: symbol, market: market, kind: .dayBars, from: "2025-03-03", to: "2025-03-04")
        } throws: { error in
            guard case .badSymbol(let s, _) = error as? HistoryQueryError else { return false }
            return s == symbol && "\(error)".contains("bad symbol")
        }
    }

    @Test("bounds: dates, RFC 3339 and Unix time by magnitude")
    func bounds() throws {
        #expect(try HistoryBound(parsing: "2024-02-29") == .date(CalendarDate(year: 2024, month: 2, day: 29)!))
        let ns: Int64 = 1_741_100_400_000_000_000
        #expect(try HistoryBound(parsing: "2025-03-04T15:00:00Z") == .instant(nanoseconds: ns))
        #expect(try HistoryBound(parsing: "2025-03-04T10:00:00.25-05:00") == .instant(nanoseconds: ns + 250_000_000))
        #expect(try HistoryBound(parsing: "2025-03-04T15:00:00.000000001z") == .instant(nanoseconds: ns + 1))
        #expect(try HistoryBound(parsing: "1741100400") == .instant(nanoseconds: ns))
        #expect(try HistoryBound(parsing: "1741100400000") == .instant(nanoseconds: ns))
        #expect(try HistoryBound(parsing: "1741100400000000000") == .instant(nanoseconds: ns))
        #expect(CalendarDate(year: 2025, month: 3, day: 4)!.daysSinceEpoch == 20_151)
        #expect(CalendarDate(year: 1969, month: 12, day: 31)!.daysSinceEpoch == -1)
    }

    @Test("bad times are refused with a clear message", arguments: [
        "2025-02-29", "2025-13-01", "2025-3-4", "20250304", "yesterday", "", "2025-03-04T25:00:00Z", "2025-03-04T15:00:00",
        "2025-03-04T15:00:00.1234567890Z", "-5", "99999999999999999999", "2025-03-04T15:00:00+5", "174110040",
    ])
    func badTimes(_ text: String) {
        #expect(throws: HistoryQueryError.badTime(text)) { try HistoryBound(parsing: text) }
        #expect(HistoryQueryError.badTime(text).description.contains("is not a date (YYYY-MM-DD)"))
    }

    @Test("from after to is refused; dates compare as the widest day they can mean")
    func ranges() throws {
        #expect(throws: HistoryQueryError.self) {
            try HistoryQuery(symbol: "AAPL", market: .stocks, kind: .minuteBars, from: "2025-03-05", to: "2025-03-04")
        }
        #expect(throws: HistoryQueryError.self) {
            try HistoryQuery(symbol: "AAPL", market: .stocks, kind: .trades, from: "2025-03-04T15:00:01Z", to: "2025-03-04T15:00:00Z")
        }
        #expect(throws: HistoryQueryError.self) {
            try HistoryQuery(symbol: "AAPL", market: .stocks, kind: .trades, from: "2025-03-05", to: "2025-03-04T23:59:59Z")
        }
        // One day, and a date ending at 00:00 Eastern (05:00 UTC) the next day.
        _ = try HistoryQuery(symbol: "AAPL", market: .stocks, kind: .minuteBars, from: "2025-03-04", to: "2025-03-04")
        _ = try HistoryQuery(symbol: "AAPL", market: .stocks, kind: .trades, from: "2025-03-05T04:59:59Z", to: "2025-03-04")
        let error = HistoryQueryError.fromAfterTo(
            from: try HistoryBound(parsing: "2025-03-05"), to: try HistoryBound(parsing: "2025-03-04"))
        #expect(error.description == "the range starts after it ends: from 2025-03-05 is after to 2025-03-04")
    }

    @Test("data Massive's REST API does not have is refused")
    func unsupported() {
        for (market, kind) in [(TickBusCore.Market.futures, HistoryKind.minuteBars), (.indices, .trades), (.indices, .quotes), (.forex, .trades), (.unknown, .dayBars)] {
            #expect(throws: HistoryQueryError.self) {
                try HistoryQuery(symbol: "X", market: market, kind: kind, from: "2025-03-03", to: "2025-03-04")
            }
        }
    }

    @Test("request paths: aggregates in ms or dates, v3 in ns or dates, ascending, the page limit")
    func paths() throws {
        let bars = try HistoryQuery(
            symbol: "BTC-USD", market: .crypto, kind: .secondBars, from: "2025-03-04T15:00:00.0015Z", to: "2025-03-04")
        #expect(bars.path(limit: 100) == "/v2/aggs/ticker/X:BTCUSD/range/1/second/1741100400001/2025-03-04?adjusted=true&sort=asc&limit=100")
        let days = try HistoryQuery(symbol: "AAPL", market: .stocks, kind: .dayBars, from: "2025-03-03", to: "2025-03-07", adjusted: false)
        #expect(days.path(limit: 50_000) == "/v2/aggs/ticker/AAPL/range/1/day/2025-03-03/2025-03-07?adjusted=false&sort=asc&limit=50000")
        let quotes = try HistoryQuery(symbol: "EUR/USD", market: .forex, kind: .quotes, from: "2025-03-04", to: "1741100400123456789")
        #expect(quotes.path(limit: 7) == "/v3/quotes/C:EURUSD?timestamp.gte=2025-03-04&timestamp.lte=1741100400123456789&order=asc&sort=timestamp&limit=7")
        let trades = try HistoryQuery(symbol: "O:SPY251219C00650000", market: .options, kind: .trades, from: "2025-03-04", to: "2025-03-04")
        #expect(trades.path(limit: 1).hasPrefix("/v3/trades/O:SPY251219C00650000?timestamp.gte=2025-03-04&timestamp.lte=2025-03-04&"))
    }

    @Test("retry delays: exponential with jitter, capped; Retry-After wins")
    func retryDelays() {
        let policy = RetryPolicy(maxAttempts: 8, initialDelay: .milliseconds(250), maxDelay: .seconds(60))
        var generator = SystemRandomNumberGenerator()
        for attempt in 1...12 {
            let full = min(Duration.milliseconds(250) * (1 << (attempt - 1)), .seconds(60))
            for _ in 0..<50 {
                let d = policy.delay(afterAttempt: attempt, using: &generator)
                #expect(d <= full && d >= full / 2, "attempt \(attempt): \(d)")
            }
        }
        #expect(policy.delay(afterAttempt: 3, retryAfter: .seconds(12), using: &generator) == .seconds(12))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .zero, using: &generator) == .zero)
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(3_600), using: &generator) == .seconds(60))
    }

    @Test("events and errors read as users expect")
    func messages() {
        let retry = RESTEvent.retry(reason: .status(429, message: nil), delay: .seconds(12), attempt: 1, maxAttempts: 8)
        #expect(retry.description == "rate limited (429); retrying in 12 s (attempt 2 of 8)")
        #expect(RESTEvent.retry(reason: .status(503, message: nil), delay: .milliseconds(1500), attempt: 2, maxAttempts: 8)
            .description == "Massive unavailable (503); retrying in 1.5 s (attempt 3 of 8)")
        #expect(RESTEvent.retry(reason: .transport("connection refused"), delay: .milliseconds(250), attempt: 1, maxAttempts: 3)
            .description == "connection refused; retrying in 250 ms (attempt 2 of 3)")
        #expect(MassiveRESTError.unauthorized(message: "Unknown API Key").description
            == "Massive refused the API key (Unknown API Key): check MASSIVE_API_KEY")
        #expect(MassiveRESTError.notEntitled(what: "second bars of AAPL", message: "You are not entitled to this data.").description
            == "your Massive plan does not include second bars of AAPL: You are not entitled to this data.")
    }
}
