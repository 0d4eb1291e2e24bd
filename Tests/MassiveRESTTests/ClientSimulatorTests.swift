import Foundation
import Massive
import MassiveREST
import Simulator
import Synchronization
import Testing
import TickBusCore

/// `MassiveRESTClient` against a real `MassiveSimulator` over HTTP.
@Suite("REST client against the simulator", .timeLimit(.minutes(2)))
struct ClientSimulatorTests {
    /// 30 minutes of MSFT second bars from `fixedStart`.
    static func secondBars(_ symbol: String = "MSFT") throws -> HistoryQuery {
        try HistoryQuery(
            symbol: symbol, market: .stocks, kind: .secondBars, from: .instant(nanoseconds: fixedStart * 1_000_000),
            to: .instant(nanoseconds: (fixedStart + 30 * 60_000 - 1) * 1_000_000))
    }

    @Test("pages of 100 give exactly the bars of one big request: ascending, no duplicates")
    func pagination() async throws {
        try await withSimulator(simulatorConfiguration()) { sim in
            let base = try await sim.restBaseURL()
            let query = try Self.secondBars()
            let whole = try await client(base).collect(query)
            let paged = try await client(base, pageLimit: 100).collect(query)
            #expect(whole.summary.pages == 1 && whole.summary.requests == 1)
            #expect(whole.records.count > 1_500 && whole.records.count <= 1_800)
            #expect(paged.summary.pages >= 16)
            #expect(paged.pages.allSatisfy { $0.count <= 100 })
            let times = paged.records.map(\.header.tsEvent)
            #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 }, "strictly ascending")
            #expect(times.first! >= fixedStart * 1_000_000 && times.last! < (fixedStart + 30 * 60_000) * 1_000_000)
            #expect(withoutReceiveTime(paged.records) == withoutReceiveTime(whole.records))
            #expect(paged.summary.records == paged.records.count && paged.summary.duplicates == 0)
            // next_url is followed as given: later requests carry only Massive's cursor.
            let urls = paged.events.compactMap { if case .request(let url, _, _) = $0 { url } else { nil } }
            #expect(urls.count == paged.summary.pages)
            #expect(urls.dropFirst().allSatisfy { $0.hasPrefix(base) && $0.contains("cursor=") && !$0.contains("apiKey") })
        }
    }

    @Test("every kind and market agrees with Foundation's parse of the same response")
    func agreesWithFoundation() async throws {
        let t0 = fixedStart * 1_000_000
        let cases: [(String, TickBusCore.Market, HistoryKind, HistoryBound, HistoryBound)] = [
            ("AAPL", .stocks, .secondBars, .instant(nanoseconds: t0), .instant(nanoseconds: t0 + 120_000_000_000)),
            ("AAPL", .stocks, .minuteBars, .instant(nanoseconds: t0), .instant(nanoseconds: t0 + 1_800_000_000_000)),
            ("BTC-USD", .crypto, .minuteBars, .instant(nanoseconds: t0), .instant(nanoseconds: t0 + 600_000_000_000)),
            ("EUR/USD", .forex, .secondBars, .instant(nanoseconds: t0), .instant(nanoseconds: t0 + 60_000_000_000)),
            ("I:SPX", .indices, .minuteBars, .instant(nanoseconds: t0), .instant(nanoseconds: t0 + 600_000_000_000)),
            ("O:SPY251219C00650000", .options, .minuteBars, .instant(nanoseconds: t0), .instant(nanoseconds: t0 + 600_000_000_000)),
            ("AAPL", .stocks, .trades, .instant(nanoseconds: t0), .instant(nanoseconds: t0 + 20_000_000_000)),
            ("BTC-USD", .crypto, .trades, .instant(nanoseconds: t0), .instant(nanoseconds: t0 + 20_000_000_000)),
            ("O:AAPL251219C00250000", .options, .trades, .instant(nanoseconds: t0), .instant(nanoseconds: t0 + 60_000_000_000)),
            ("AAPL", .stocks, .quotes, .instant(nanoseconds: t0), .instant(nanoseconds: t0 + 20_000_000_000)),
            ("EUR/USD", .forex, .quotes, .instant(nanoseconds: t0), .instant(nanoseconds: t0 + 20_000_000_000)),
            ("ETH-USD", .crypto, .quotes, .instant(nanoseconds: t0), .instant(nanoseconds: t0 + 20_000_000_000)),
        ]
        try await withSimulator(simulatorConfiguration(rate: 100)) { sim in
            let base = try await sim.restBaseURL()
            for (symbol, market, kind, from, to) in cases {
                let query = try HistoryQuery(symbol: symbol, market: market, kind: kind, from: from, to: to)
                let fetched = try await client(base).collect(query)
                let label = "\(query)"
                #expect(fetched.summary.pages == 1 && fetched.summary.skipped == 0, "\(label)")
                let (status, json) = try await foundationGet(try #require(fetched.firstURL))
                #expect(status == 200)
                let results = try #require(json["results"] as? [[String: Any]], "\(label)")
                try #require(results.count == fetched.records.count && results.count > 5, "\(label): \(results.count)")
                for (record, r) in zip(fetched.records, results) {
                    #expect(record.header.symbol.description == symbol && record.header.market == market)
                    #expect(record.header.flags == .historical)
                    check(record, against: r, kind: kind, label: label)
                }
            }
        }
    }

    func check(_ record: Record, against r: [String: Any], kind: HistoryKind, label: String) {
        func same(_ price: Price, _ key: String) {
            if let n = number(r[key]) {
                #expect(abs(price.doubleValue - n) < 1e-9, "\(label) \(key)")
            } else {
                #expect(price.isNull, "\(label) \(key) absent")
            }
        }
        func same(_ value: Double, _ key: String) {
            if let n = number(r[key]) { #expect(value == n, "\(label) \(key)") } else { #expect(value.isNaN, "\(label) \(key) absent") }
        }
        switch record {
        case .bar(let b):
            #expect(b.interval == kind.barInterval)
            #expect(b.header.tsEvent == int64(r["t"])! * 1_000_000, "\(label) t")
            same(b.open, "o"); same(b.high, "h"); same(b.low, "l"); same(b.close, "c"); same(b.vwap, "vw")
            same(b.volume, "v")
            #expect(b.tradeCount == UInt64(int64(r["n"]) ?? 0), "\(label) n")
        case .trade(let t):
            #expect(t.header.tsEvent == int64(r["sip_timestamp"] ?? r["participant_timestamp"]), "\(label) time")
            same(t.price, "price")
            #expect(t.size == number(r["size"]), "\(label) size")
            #expect(Int64(t.exchange) == int64(r["exchange"]))
            #expect(t.upstreamSequence == int64(r["sequence_number"]) ?? 0)
            #expect(t.tradeID.description == (r["id"] as? String) ?? "")
            #expect(t.conditions.codes.map(Int64.init) == ((r["conditions"] as? [Any]) ?? []).prefix(4).compactMap(int64))
            #expect(Int64(t.tape) == int64(r["tape"]) ?? 0)
        case .quote(let q):
            #expect(q.header.tsEvent == int64(r["sip_timestamp"] ?? r["participant_timestamp"]), "\(label) time")
            same(q.bidPrice, "bid_price"); same(q.askPrice, "ask_price")
            same(q.bidSize, "bid_size"); same(q.askSize, "ask_size")
            #expect(Int64(q.bidExchange) == int64(r["bid_exchange"]) && Int64(q.askExchange) == int64(r["ask_exchange"]))
            #expect(q.upstreamSequence == int64(r["sequence_number"]) ?? 0)
        default:
            Issue.record("unexpected record \(record)")
        }
    }

    @Test("day bars over Eastern days, given as dates")
    func dayBars() async throws {
        try await withSimulator(simulatorConfiguration(rate: 3)) { sim in
            let query = try HistoryQuery(symbol: "SPY", market: .stocks, kind: .dayBars, from: "2025-03-03", to: "2025-03-07")
            let fetched = try await client(try await sim.restBaseURL(), pageLimit: 2).collect(query)
            let starts = fetched.records.map(\.header.tsEvent)
            // 00:00 EST = 05:00 UTC.
            #expect(starts == (0..<5).map { 1_740_978_000_000_000_000 + Int64($0) * 86_400_000_000_000 })
            #expect(fetched.summary.pages == 3)
            #expect(fetched.records.allSatisfy { if case .bar(let b) = $0 { b.interval == .day && b.tradeCount > 0 } else { false } })
        }
    }

    @Test("a backfilled bar equals the live A/AM bar field for field, apart from flags, tsRecv and the trade count")
    func liveEqualsBackfill() async throws {
        var config = simulatorConfiguration(rate: 300, seed: 3)
        config.clock = .simulated(startMs: fixedStart, speed: 30)
        try await withSimulator(config) { sim in
            let live = LiveBars()
            let stream = MassiveStream(
                configuration: .init(
                    endpoint: try MassiveEndpoint(url: try await sim.webSocketURL(.stocks), market: .stocks), apiKey: "k",
                    subscriptions: ["A.AAPL", "AM.AAPL"]),
                logger: quietLogger)
            let task = Task { try await stream.run(handler: live) }
            let deadline = ContinuousClock.now + .seconds(20)
            while live.bars.filter({ $0.interval == .minute }).count < 2, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            task.cancel()
            _ = await task.result
            let streamed = live.bars
            let base = try await sim.restBaseURL()
            let to = HistoryBound.instant(nanoseconds: (fixedStart + 120_000 - 1) * 1_000_000)
            var matched = 0
            for interval in [BarInterval.second, .minute] {
                let query = try HistoryQuery(
                    symbol: "AAPL", market: .stocks, kind: interval == .second ? .secondBars : .minuteBars,
                    from: .instant(nanoseconds: fixedStart * 1_000_000), to: to)
                var rest: [Int64: Bar] = [:]
                for case .bar(let b) in try await client(base).collect(query).records { rest[b.header.tsEvent] = b }
                for var bar in streamed where bar.interval == interval && bar.header.tsEvent <= to.latest {
                    guard let backfilled = rest[bar.header.tsEvent] else {
                        Issue.record("no REST bar for the live \(interval) bar at \(bar.header.tsEvent)")
                        continue
                    }
                    // Live stock bars carry no trade count (A/AM have no `n`); REST bars do.
                    #expect(bar.tradeCount == 0 && backfilled.tradeCount > 0)
                    bar.header.flags = .historical
                    bar.header.tsRecv = backfilled.header.tsRecv
                    bar.tradeCount = backfilled.tradeCount
                    #expect(bar == backfilled)
                    matched += 1
                }
            }
            #expect(matched > 60)
        }
    }

    @Test("a wrong key: unauthorized at once, one request, no retries")
    func wrongKey() async throws {
        var config = simulatorConfiguration()
        config.apiKey = "secret"
        try await withSimulator(config) { sim in
            let error = await #expect(throws: MassiveRESTError.self) {
                try await client(try await sim.restBaseURL(), key: "nope").collect(try Self.secondBars())
            }
            #expect(error == .unauthorized(message: "Unknown API Key"))
            #expect(error?.description == "Massive refused the API key (Unknown API Key): check MASSIVE_API_KEY")
            #expect(sim.stats.restRequests == 1)
            await #expect(throws: MassiveRESTError.missingAPIKey) {
                try await client(try await sim.restBaseURL(), key: "").collect(try Self.secondBars())
            }
            #expect(sim.stats.restRequests == 1, "no request without a key")
        }
    }

    @Test("a plan without the data: 403 with Massive's message, no retries", arguments: [
        (SimulatorConfiguration.Plan.basic, HistoryKind.secondBars), (.starter, .trades), (.developer, .quotes),
    ])
    func notEntitled(_ plan: SimulatorConfiguration.Plan, _ kind: HistoryKind) async throws {
        var config = simulatorConfiguration()
        config.plan = plan
        try await withSimulator(config) { sim in
            let query = try HistoryQuery(symbol: "AAPL", market: .stocks, kind: kind, from: "2025-03-04", to: "2025-03-04")
            let error = await #expect(throws: MassiveRESTError.self) {
                try await client(try await sim.restBaseURL()).collect(query)
            }
            guard case .notEntitled(let what, let message) = error else {
                Issue.record("\(String(describing: error))")
                return
            }
            #expect(what == "\(kind) of AAPL")
            #expect(message.hasPrefix("You are not entitled to this data"))
            #expect(error!.description.hasPrefix("your Massive plan does not include \(kind) of AAPL: You are not entitled"))
            #expect(sim.stats.restRequests == 1)
        }
    }

    @Test("bad requests and unknown routes are not retried")
    func rejected() async throws {
        try await withSimulator(simulatorConfiguration()) { sim in
            let base = try await sim.restBaseURL()
            // A base URL with a path prefix the simulator does not serve: 404.
            let error = await #expect(throws: MassiveRESTError.self) {
                try await client(base + "/nothing").collect(try Self.secondBars())
            }
            guard case .notFound(let url, let message) = error else {
                Issue.record("\(String(describing: error))")
                return
            }
            #expect(url.hasPrefix(base + "/nothing/v2/aggs/ticker/MSFT/"))
            #expect(message == "Not Found")
            #expect(sim.stats.restRequests == 1)
        }
    }

    @Test("injected 429s (Retry-After 0) and 503s (not JSON) are retried and no page is lost")
    func faultsRetried() async throws {
        let clean = try await withSimulator(simulatorConfiguration()) { sim in
            try await client(try await sim.restBaseURL(), pageLimit: 100).collect(try Self.secondBars())
        }
        for (every, burst) in [(3, 1), (6, 4)] {
            var config = simulatorConfiguration()
            config.faults.restErrorEvery = every
            config.faults.restErrorBurst = burst
            config.faults.restRetryAfter = 0
            let faulty = try await withSimulator(config) { sim in
                try await client(try await sim.restBaseURL(), pageLimit: 100).collect(try Self.secondBars())
            }
            #expect(withoutReceiveTime(faulty.records) == withoutReceiveTime(clean.records), "every \(every), burst \(burst)")
            #expect(faulty.summary.pages == clean.summary.pages)
            #expect(faulty.summary.retries > 0 && faulty.summary.requests == faulty.summary.pages + faulty.summary.retries)
            let reasons = faulty.events.compactMap { if case .retry(let reason, _, _, _) = $0 { reason } else { nil } }
            #expect(reasons.count == faulty.summary.retries)
            #expect(reasons.contains(.status(429, message: "You've exceeded the maximum requests per minute, please wait or upgrade your subscription to continue.")))
            #expect(reasons.contains(.status(503, message: "503 Service Temporarily Unavailable")))
        }
    }

    @Test("Retry-After is honoured; a burst longer than the attempts gives up with the last status")
    func retryAfterAndGiveUp() async throws {
        var config = simulatorConfiguration()
        config.faults.restErrorEvery = 4
        config.faults.restErrorBurst = 3
        config.faults.restRetryAfter = 1
        try await withSimulator(config) { sim in
            // Requests 2, 3 and 4 get 429s with Retry-After: 1 (the first page is request 1).
            let patient = try MassiveRESTClient(
                configuration: MassiveRESTConfiguration(
                    apiKey: "k", baseURL: try await sim.restBaseURL(),
                    retry: RetryPolicy(initialDelay: .milliseconds(1), maxDelay: .seconds(5)), pageLimit: 600),
                logger: quietLogger)
            let fetched = try await patient.collect(try Self.secondBars())
            let delays = fetched.events.compactMap { if case .retry(.status(429, _), let d, _, _) = $0 { d } else { nil } }
            #expect(delays.count >= 3 && delays.allSatisfy { $0 == .seconds(1) }, "Retry-After rather than 1 ms backoff")
            #expect(fetched.events.contains { $0.description == "rate limited (429); retrying in 1 s (attempt 2 of 8)" })
        }
        try await withSimulator(config) { sim in
            let error = await #expect(throws: MassiveRESTError.self) {
                try await client(try await sim.restBaseURL(), pageLimit: 600, maxAttempts: 2).collect(try Self.secondBars())
            }
            guard case .gaveUp(let url, let attempts, let last) = error else {
                Issue.record("\(String(describing: error))")
                return
            }
            #expect(attempts == 2 && url.contains("cursor="), "the second page gives up")
            #expect(last == .status(429, message: "You've exceeded the maximum requests per minute, please wait or upgrade your subscription to continue."))
            #expect(error!.description.hasSuffix("after 2 attempts; last: rate limited (429)"))
            #expect(sim.stats.restRequests == 3)
        }
    }

    @Test("a refused connection is retried, then gives up with a clear error")
    func connectionRefused() async throws {
        var events: [RESTEvent] = []
        let error = await #expect(throws: MassiveRESTError.self) {
            try await client("http://127.0.0.1:1", maxAttempts: 3, requestTimeout: .seconds(2))
                .fetch(try Self.secondBars(), events: { events.append($0) }) { _ in }
        }
        guard case .gaveUp(let url, 3, let last) = error else {
            Issue.record("\(String(describing: error))")
            return
        }
        #expect(url.hasPrefix("http://127.0.0.1:1/v2/aggs/ticker/MSFT/range/1/second/"))
        #expect(last == .transport("connection refused"))
        #expect(events.filter { if case .retry = $0 { true } else { false } }.count == 2)
    }

    @Test("crypto and forex pairs: REST tickers in the URL, bus symbols on the records")
    func pairs() async throws {
        try await withSimulator(simulatorConfiguration()) { sim in
            let base = try await sim.restBaseURL()
            let t0 = fixedStart * 1_000_000
            for (symbol, market, ticker) in [("BTC-USD", TickBusCore.Market.crypto, "X:BTCUSD"), ("EUR/USD", .forex, "C:EURUSD")] {
                let query = try HistoryQuery(
                    symbol: symbol, market: market, kind: .quotes, from: .instant(nanoseconds: t0),
                    to: .instant(nanoseconds: t0 + 5_000_000_000))
                let fetched = try await client(base).collect(query)
                #expect(fetched.firstURL?.hasPrefix("\(base)/v3/quotes/\(ticker)?") == true)
                #expect(!fetched.records.isEmpty)
                #expect(fetched.records.allSatisfy { $0.header.symbol.description == symbol && $0.header.market == market })
            }
        }
    }

    @Test("large pages: 50,000 trades each")
    func throughput() async throws {
        try await withSimulator(simulatorConfiguration(rate: 20_000), timeout: 60) { sim in
            let t0 = fixedStart * 1_000_000
            let query = try HistoryQuery(
                symbol: "AAPL", market: .stocks, kind: .trades, from: .instant(nanoseconds: t0),
                to: .instant(nanoseconds: t0 + 60_000_000_000))
            let fetched = try await client(try await sim.restBaseURL()).collect(query)
            #expect(fetched.summary.records > 20_000)
            #expect(fetched.summary.pages >= 1)
        }
    }
}

/// Collects the bars a `MassiveStream` receives.
final class LiveBars: MassiveStreamHandler {
    private let state = Mutex<[Bar]>([])

    var bars: [Bar] { state.withLock { $0 } }

    func stream(_ event: StreamEvent) {}

    func stream(records: [Record]) {
        state.withLock { bars in
            for case .bar(let b) in records { bars.append(b) }
        }
    }
}
