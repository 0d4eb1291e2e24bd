import Foundation
import Testing

@testable import Simulator

/// Follow `next_url` (re-adding the key, which next_url never carries) and collect results.
func allPages(_ first: String, key: String = "k", maxPages: Int = 200) async throws -> (results: [[String: Any]], pages: Int) {
    var url = first
    var results: [[String: Any]] = []
    var pages = 0
    while true {
        let (status, json) = try await httpGet(url, headers: ["Authorization": "Bearer \(key)"])
        #expect(status == 200, "GET \(url)")
        #expect(json["status"] as? String == "OK")
        #expect((json["request_id"] as? String)?.isEmpty == false)
        pages += 1
        let page = json["results"] as? [[String: Any]] ?? []
        results += page
        guard let next = json["next_url"] as? String else { break }
        #expect(!next.contains("apiKey"), "next_url carries no key")
        #expect(next.contains("cursor="))
        url = next
        if pages >= maxPages {
            Issue.record("too many pages")
            break
        }
    }
    return (results, pages)
}

@Suite("REST", .timeLimit(.minutes(1)))
struct RESTTests {
    @Test("aggregates: next_url pagination returns the whole range once, ascending and descending")
    func aggregatesPagination() async throws {
        try await withSimulator(testConfiguration(rate: 200)) { sim in
            let base = try await sim.restBaseURL()
            let from = fixedStart
            let to = fixedStart + 30 * 60_000 - 1
            let path = "\(base)/v2/aggs/ticker/MSFT/range/1/second/\(from)/\(to)"
            let (status, whole) = try await httpGet("\(path)?limit=50000&apiKey=k")
            #expect(status == 200)
            let all = whole["results"] as! [[String: Any]]
            #expect(whole["ticker"] as? String == "MSFT")
            #expect(whole["adjusted"] as? Bool == true)
            #expect(int64(whole["resultsCount"]) == Int64(all.count))
            #expect(int64(whole["queryCount"]) == Int64(all.count))
            #expect(whole["next_url"] == nil)
            #expect(all.count > 1_500 && all.count <= 1_800)
            let times = all.map { int64($0["t"])! }
            #expect(times == times.sorted())
            #expect(times.first! >= from && times.last! <= to)
            for r in all {
                #expect(Set(r.keys) == ["v", "vw", "o", "c", "h", "l", "t", "n"])
                #expect(int64(r["t"])! % 1000 == 0, "bars are stamped at their start")
            }
            let paged = try await allPages("\(path)?limit=100")
            #expect(paged.pages >= 16)
            #expect(paged.results.map { int64($0["t"])! } == times, "no gaps, no duplicates")
            for (a, b) in zip(paged.results, all) {
                for k in ["o", "h", "l", "c", "v", "vw", "n"] { #expect(number(a[k]) == number(b[k])) }
            }
            let down = try await allPages("\(path)?limit=250&sort=desc")
            #expect(down.results.map { int64($0["t"])! } == times.reversed())
        }
    }

    @Test("aggregates: minute, hour and Eastern-day bars aggregate the same trades")
    func aggregateLevels() async throws {
        try await withSimulator(testConfiguration(rate: 3)) { sim in
            let base = try await sim.restBaseURL()
            // An option: every trade is eligible and it trades only in the regular session, so
            // every hour with volume has a bar.
            let option = "O:SPY251219C00650000"
            func get(_ span: String, _ from: String, _ to: String) async throws -> [[String: Any]] {
                let (status, json) = try await httpGet("\(base)/v2/aggs/ticker/\(option)/range/1/\(span)/\(from)/\(to)?apiKey=k&limit=50000")
                #expect(status == 200)
                return json["results"] as? [[String: Any]] ?? []
            }
            let days = try await get("day", "2025-03-03", "2025-03-12")
            #expect(days.count == 8, "the weekend of Mar 8–9 does not trade")
            // 2025-03-03 00:00 EST = 05:00Z; 2025-03-10 (after the DST switch) 00:00 EDT = 04:00Z.
            #expect(int64(days[0]["t"]) == 1_740_978_000_000)
            #expect(int64(days[5]["t"]) == 1_741_579_200_000)
            let hours = try await get("hour", "2025-03-04", "2025-03-04")
            // 09:30–16:00 EST = 14:30Z–21:00Z.
            #expect(hours.map { Int((int64($0["t"])! / 3_600_000) % 24) } == Array(14...20))
            let day = days[1]
            #expect(number(day["o"]) == number(hours.first!["o"]))
            #expect(number(day["c"]) == number(hours.last!["c"]))
            #expect(number(day["h"]) == hours.map { number($0["h"])! }.max())
            #expect(number(day["l"]) == hours.map { number($0["l"])! }.min())
            #expect(number(day["v"]) == hours.map { number($0["v"])! }.reduce(0, +))
            #expect(int64(day["n"]) == hours.map { int64($0["n"])! }.reduce(0, +))
            let weeks = try await get("week", "2025-03-03", "2025-03-16")
            #expect(weeks.count == 3, "weeks start on Sunday: Mar 2, 9, 16")
            let paged = try await allPages("\(base)/v2/aggs/ticker/\(option)/range/1/day/2025-03-03/2025-03-12?limit=3")
            #expect(paged.pages == 3)
            #expect(paged.results.map { int64($0["t"])! } == days.map { int64($0["t"])! })
        }
    }

    @Test("v3 trades and quotes: ns timestamps, cursor pagination in both orders")
    func ticksPagination() async throws {
        try await withSimulator(testConfiguration(rate: 100)) { sim in
            let base = try await sim.restBaseURL()
            let lo = fixedStart * 1_000_000
            let hi = lo + 20_000_000_000
            let query = "timestamp.gte=\(lo)&timestamp.lt=\(hi)"
            let (_, whole) = try await httpGet("\(base)/v3/trades/AAPL?\(query)&order=asc&limit=50000&apiKey=k")
            let all = whole["results"] as! [[String: Any]]
            #expect(all.count > 50)
            #expect(whole["next_url"] == nil)
            let times = all.map { int64($0["sip_timestamp"])! }
            #expect(times == times.sorted())
            #expect(times.allSatisfy { $0 >= lo && $0 < hi && String($0).count == 19 })
            #expect(Set(all.map { $0["id"] as! String }).count == all.count)
            for t in all {
                #expect(Set(t.keys).isSuperset(of: ["exchange", "id", "participant_timestamp", "price", "sequence_number", "sip_timestamp", "size", "tape", "decimal_size"]))
                #expect(int64(t["participant_timestamp"])! <= int64(t["sip_timestamp"])!)
            }
            let asc = try await allPages("\(base)/v3/trades/AAPL?\(query)&order=asc&limit=7")
            #expect(asc.results.map { $0["id"] as! String } == all.map { $0["id"] as! String })
            let desc = try await allPages("\(base)/v3/trades/AAPL?\(query)&limit=9")
            #expect(desc.results.map { $0["id"] as! String } == all.reversed().map { $0["id"] as! String }, "default order is desc")
            let quotes = try await allPages("\(base)/v3/quotes/AAPL?\(query)&order=asc&limit=40")
            #expect(quotes.results.count > all.count / 2)
            for q in quotes.results {
                #expect(number(q["bid_price"])! < number(q["ask_price"])!)
                #expect(String(int64(q["sip_timestamp"])!).count == 19)
            }
            // The stream's trade sizes and prices and REST's are the same events.
            let crypto = try await httpGet("\(base)/v3/trades/X:BTCUSD?\(query)&limit=5&apiKey=k")
            #expect((crypto.json["results"] as? [[String: Any]])?.count == 5)
        }
    }

    @Test("same seed, same REST answers; another seed, other answers")
    func restDeterminism() async throws {
        func bars(seed: UInt64) async throws -> [String] {
            let box = Box<[String]>([])
            try await withSimulator(testConfiguration(rate: 100, seed: seed)) { sim in
                let base = try await sim.restBaseURL()
                let (_, json) = try await httpGet("\(base)/v2/aggs/ticker/NVDA/range/1/minute/\(fixedStart)/\(fixedStart + 600_000)?apiKey=k")
                box.value = (json["results"] as! [[String: Any]]).map { "\($0["t"]!) \($0["o"]!) \($0["c"]!) \($0["v"]!)" }
            }
            return box.value
        }
        let a = try await bars(seed: 1)
        let b = try await bars(seed: 1)
        let c = try await bars(seed: 2)
        #expect(a.count == 11)
        #expect(a == b)
        #expect(a != c)
    }

    @Test("errors: 401 without or with a wrong key, 403 outside the plan, 404, 400, 429 over the rate limit")
    func errors() async throws {
        var config = testConfiguration()
        config.apiKey = "secret"
        // Requests that pass auth count: 200, 403, 400, then 429.
        config.restRateLimit = 3
        config.plan = .developer
        try await withSimulator(config) { sim in
            let base = try await sim.restBaseURL()
            let aggs = "\(base)/v2/aggs/ticker/AAPL/range/1/minute/\(fixedStart)/\(fixedStart + 60_000)"
            var (status, json) = try await httpGet(aggs)
            #expect(status == 401)
            #expect(json["status"] as? String == "ERROR")
            #expect(json["error"] as? String == "API Key was not provided")
            (status, json) = try await httpGet("\(aggs)?apiKey=nope")
            #expect(status == 401)
            #expect(json["error"] as? String == "Unknown API Key")
            (status, json) = try await httpGet("\(base)/v2/nothing/here?apiKey=secret")
            #expect(status == 404)
            (status, json) = try await httpGet(aggs, headers: ["Authorization": "Bearer secret"])
            #expect(status == 200)
            (status, json) = try await httpGet("\(base)/v3/quotes/AAPL?apiKey=secret")
            #expect(status == 403)
            #expect(json["status"] as? String == "NOT_AUTHORIZED")
            #expect((json["message"] as? String)?.contains("not entitled") == true)
            (status, json) = try await httpGet("\(base)/v2/aggs/ticker/AAPL/range/1/fortnight/2025-01-01/2025-01-02?apiKey=secret")
            #expect(status == 400)
            (status, json) = try await httpGet("\(aggs)?apiKey=secret")
            #expect(status == 429)
            #expect(json["status"] as? String == "ERROR")
            #expect((json["error"] as? String)?.contains("maximum requests per minute") == true)
            let (other, _) = try await httpGet("\(aggs)?apiKey=secret")
            #expect(other == 429)
        }
    }

    @Test("unknown tickers: aggregates without results, empty v3 pages")
    func unknownTicker() async throws {
        try await withSimulator(testConfiguration()) { sim in
            let base = try await sim.restBaseURL()
            let (status, json) = try await httpGet("\(base)/v2/aggs/ticker/NOPE/range/1/day/2025-01-02/2025-01-03?apiKey=k")
            #expect(status == 200)
            #expect(json["results"] == nil, "results omitted when empty")
            #expect(int64(json["resultsCount"]) == 0)
            let trades = try await httpGet("\(base)/v3/trades/NOPE?apiKey=k")
            #expect((trades.json["results"] as? [Any])?.isEmpty == true)
        }
    }
}
