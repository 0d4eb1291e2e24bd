import Foundation
import Synchronization
import Testing

@testable import Simulator

/// Massive's rules as the tests apply them: odd lots (37) and average-price trades (2) count in
/// volume but do not set open/high/low/close; no bar without an eligible trade.
func isEligible(_ trade: Event) -> Bool {
    let c = (trade["c"] as? [Any])?.compactMap { int64($0) } ?? []
    return !c.contains(37) && !c.contains(2)
}

struct ExpectedBar {
    var o = 0.0, h = -Double.infinity, l = Double.infinity, c = 0.0
    var v = 0.0, notional = 0.0, n = 0
    var eligible = 0

    mutating func add(_ t: Event) {
        let p = number(t["p"])!
        let s = number(t["s"])!
        v += s
        notional += p * s
        n += 1
        if isEligible(t) {
            if eligible == 0 { o = p }
            eligible += 1
            h = max(h, p)
            l = min(l, p)
            c = p
        }
    }
}

func checkBar(_ bar: Event, _ x: ExpectedBar, _ label: String) {
    #expect(number(bar["o"]) == x.o, "\(label) open")
    #expect(number(bar["h"]) == x.h, "\(label) high")
    #expect(number(bar["l"]) == x.l, "\(label) low")
    #expect(number(bar["c"]) == x.c, "\(label) close")
    #expect(number(bar["v"]) == x.v, "\(label) volume")
    #expect(abs(number(bar["vw"])! - x.notional / x.v) < 0.00006, "\(label) vwap")
    #expect(int64(bar["z"]) == Int64(x.v) / Int64(x.n), "\(label) average size")
}

@Suite("Synthetic market and bars", .timeLimit(.minutes(1)))
struct BarsTests {
    /// Stream 2.5 simulated minutes of stocks; returns the events (statuses removed).
    static func streamedMinutes() async throws -> (events: [Event], rest: [String: Any]) {
        var config = testConfiguration(rate: 300, seed: 3)
        config.clock = .simulated(startMs: fixedStart, speed: 60)
        let box = Box<(events: [Event], rest: [String: Any])>(([], [:]))
        try await withSimulator(config, timeout: 30) { sim in
            try await withWebSocket(try await sim.webSocketURL(.stocks)) { ws in
                try await ws.auth()
                try await ws.subscribe("T.*,Q.*,A.*,AM.*")
                try await ws.waitUntil("two minute bars per symbol", timeout: 20) { events in
                    events.with(ev: "AM").count >= 10
                }
                let events = ws.events
                box.value.events = events.filter { $0["ev"] as? String != "status" }
            }
            // REST for the same first minute, in second and minute bars.
            let base = try await sim.restBaseURL()
            let from = fixedStart
            let to = fixedStart + 119_999
            let seconds = try await httpGet("\(base)/v2/aggs/ticker/AAPL/range/1/second/\(from)/\(to)?apiKey=k&limit=50000")
            let minutes = try await httpGet("\(base)/v2/aggs/ticker/AAPL/range/1/minute/\(from)/\(to)?apiKey=k")
            box.value.rest = ["second": seconds.json, "minute": minutes.json]
        }
        return box.value
    }

    @Test("A and AM bars equal the aggregation of the trades sent, by Massive's rules; trades sit inside the NBBO; REST agrees")
    func barsFromTrades() async throws {
        let (events, rest) = try await Self.streamedMinutes()
        let trades = events.with(ev: "T")
        #expect(trades.count > 1_000)
        #expect(trades.contains { !isEligible($0) }, "odd lots are generated")
        // Seconds fully covered by the stream: from the start second (its events after the
        // start instant are all sent) to the last second before the last bar.
        var perSecond: [String: [Int64: ExpectedBar]] = [:]
        var perMinute: [String: [Int64: ExpectedBar]] = [:]
        for t in trades {
            let sym = t["sym"] as! String
            let ms = int64(t["t"])!
            perSecond[sym, default: [:]][ms / 1000 * 1000, default: ExpectedBar()].add(t)
            perMinute[sym, default: [:]][ms / 60_000 * 60_000, default: ExpectedBar()].add(t)
        }
        let secondBars = events.with(ev: "A")
        let lastBarStart = secondBars.map { int64($0["s"])! }.max()!
        var checked = 0
        for bar in secondBars {
            let sym = bar["sym"] as! String
            let s = int64(bar["s"])!
            #expect(int64(bar["e"])! == s + 1_000)
            guard let x = perSecond[sym]?[s] else {
                Issue.record("A bar \(sym) \(s) without trades")
                continue
            }
            checkBar(bar, x, "A \(sym) \(s)")
            checked += 1
        }
        #expect(checked > 100)
        // No bar for a second without eligible trades; a bar for every second with one.
        let barKeys = Set(secondBars.map { "\($0["sym"]!)@\(int64($0["s"])!)" })
        for (sym, seconds) in perSecond {
            for (s, x) in seconds where s < lastBarStart {
                #expect(barKeys.contains("\(sym)@\(s)") == (x.eligible > 0), "\(sym) \(s): bar iff eligible trades")
            }
        }
        let minuteBars = events.with(ev: "AM")
        for bar in minuteBars {
            let sym = bar["sym"] as! String
            let s = int64(bar["s"])!
            #expect(int64(bar["e"])! == s + 60_000)
            checkBar(bar, perMinute[sym]![s]!, "AM \(sym) \(s)")
        }
        // Quotes bracket every trade; sequence numbers rise per symbol.
        var lastQuote: [String: (Double, Double)] = [:]
        var lastSeq: [String: Int64] = [:]
        for e in events where e["ev"] as? String == "T" || e["ev"] as? String == "Q" {
            let sym = e["sym"] as! String
            let q = int64(e["q"])!
            #expect(q > lastSeq[sym, default: 0])
            lastSeq[sym] = q
            if e["ev"] as? String == "Q" {
                let bp = number(e["bp"])!
                let ap = number(e["ap"])!
                #expect(bp < ap)
                lastQuote[sym] = (bp, ap)
            } else if let (bp, ap) = lastQuote[sym] {
                let p = number(e["p"])!
                #expect(bp <= p && p <= ap, "trade \(p) outside \(bp)…\(ap)")
            }
        }
        // REST second and minute bars for AAPL equal the stream's A and AM bars.
        let restSeconds = ((rest["second"] as! [String: Any])["results"] as! [[String: Any]])
        let streamA = Dictionary(uniqueKeysWithValues: secondBars.filter { $0["sym"] as? String == "AAPL" }.map { (int64($0["s"])!, $0) })
        var compared = 0
        for r in restSeconds {
            let t = int64(r["t"])!
            guard let a = streamA[t] else { continue }
            for (restKey, wsKey) in [("o", "o"), ("h", "h"), ("l", "l"), ("c", "c"), ("v", "v"), ("vw", "vw")] {
                #expect(number(r[restKey]) == number(a[wsKey]), "REST \(restKey) at \(t)")
            }
            compared += 1
        }
        #expect(compared >= 60)
        let restMinutes = ((rest["minute"] as! [String: Any])["results"] as! [[String: Any]])
        let am = minuteBars.first { $0["sym"] as? String == "AAPL" && int64($0["s"]) == fixedStart }!
        let r0 = restMinutes.first { int64($0["t"]) == fixedStart }!
        for k in ["o", "h", "l", "c", "v", "vw"] { #expect(number(r0[k]) == number(am[k]), "REST minute \(k)") }
    }

    @Test("the price path is a pure function of (seed, symbol, second)")
    func pathIsRandomAccess() {
        let universe = Universe(seed: 5, symbols: [:], rates: [.stocks: 100])
        let spec = universe.symbols(.stocks)[0]
        var cursor = PathCursor(spec: spec, second: 1_700_000_000)
        var sequential: [BarAccumulator] = []
        for _ in 0..<50 { sequential.append(cursor.nextSummary()) }
        for (i, expected) in sequential.enumerated() {
            var c = PathCursor(spec: spec, second: 1_700_000_000 + Int64(i))
            #expect(c.nextSummary() == expected)
        }
        // Prices stay near their base over years.
        for year in stride(from: 0, to: 30, by: 3) {
            let p = spec.midTicks(at: 1_500_000_000 + Int64(year) * 31_536_000) / 100
            #expect(p > 150 && p < 350, "AAPL mid \(p)")
        }
    }
}
