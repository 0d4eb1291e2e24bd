import Foundation
import Testing

@testable import Simulator

/// `av`, `op` and `a`: one value per symbol and day, shared by every connection and equal to REST.
@Suite("Day fields")
struct DayTotalsTests {
    @Test("av and op: one value per symbol and day on two connections, equal to REST's day volume so far")
    func accumulatedVolume() async throws {
        var configuration = liveTestConfiguration(rate: 200)
        configuration.dayTotalsLimit = 1_000_000
        let config = configuration
        try await withSimulator(config, timeout: 60) { sim in
            let url = try await sim.webSocketURL(.stocks)
            let first = Box<[Event]>([])
            let second = Box<[Event]>([])
            try await withWebSocket(url) { a in
                try await a.auth()
                try await a.subscribe("A.AAPL")
                try await a.waitUntil("a first bar") { !$0.with(ev: "A").isEmpty }
                try await withWebSocket(url) { b in
                    try await b.auth()
                    try await b.subscribe("A.AAPL")
                    try await b.waitUntil("bars on both connections for the same seconds") { bEvents in
                        let starts = Set(bEvents.with(ev: "A").compactMap { int64($0["s"]) })
                        return a.events.with(ev: "A").filter { starts.contains(int64($0["s"])!) }.count >= 3
                    }
                    first.value = a.events.with(ev: "A")
                    second.value = b.events.with(ev: "A")
                }
            }
            let byStart = Dictionary(first.value.map { (int64($0["s"])!, $0) }, uniquingKeysWith: { x, _ in x })
            let common = second.value.filter { byStart[int64($0["s"])!] != nil }
            #expect(common.count >= 3)
            for bar in common {
                let other = byStart[int64(bar["s"])!]!
                #expect(int64(bar["av"]) == int64(other["av"]), "av of the bar at \(bar["s"]!)")
                #expect(number(bar["op"]) == number(other["op"]))
                #expect(number(bar["a"]) == number(other["a"]))
            }
            // REST: the volume of every trade of the market day before the bar's end.
            let bar = try #require(common.last)
            let end = int64(bar["e"])!
            let shift = config.marketTimeOffset.components.seconds
            let zone = CalendarZone(market: .stocks, shift: shift)
            let dayStart = zone.startOfLocalDay(zone.localDay(atUTCSecond: end / 1000))
            let base = try await sim.restBaseURL()
            var page: String? = "\(base)/v3/trades/AAPL?timestamp.gte=\(dayStart * 1_000_000_000)&timestamp.lt=\(end * 1_000_000)&order=asc&limit=50000&apiKey=k"
            var volume: Int64 = 0
            var firstPrint: Double?
            while let next = page {
                let (status, json) = try await httpGet(next.contains("apiKey") ? next : next + "&apiKey=k")
                #expect(status == 200)
                for t in json["results"] as? [[String: Any]] ?? [] {
                    volume += int64(t["size"])!
                    let conditions = (t["conditions"] as? [Int]) ?? []
                    if firstPrint == nil, !conditions.contains(37), !conditions.contains(2) {
                        firstPrint = number(t["price"])
                    }
                }
                page = json["next_url"] as? String
            }
            #expect(volume > 0)
            #expect(int64(bar["av"]) == volume, "av equals REST's day volume so far")
            #expect(number(bar["op"]) == firstPrint, "op is the day's first eligible print")
        }
    }
}
