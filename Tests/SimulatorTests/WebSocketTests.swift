import Foundation
import Testing

@testable import Simulator

/// Field names (required, optional) of every event, as in Massive's websocket-spec.json examples.
let eventFields: [Market: [String: (required: Set<String>, optional: Set<String>)]] = {
    let stockAgg: Set<String> = ["ev", "sym", "v", "av", "op", "vw", "o", "c", "h", "l", "a", "z", "s", "e"]
    let indexAgg: Set<String> = ["ev", "sym", "op", "o", "c", "h", "l", "s", "e"]
    let fxAgg: Set<String> = ["ev", "pair", "o", "c", "h", "l", "v", "s", "e"]
    let cryptoAgg: Set<String> = ["ev", "pair", "v", "vw", "z", "o", "c", "h", "l", "s", "e"]
    return [
        .stocks: [
            "T": (["ev", "sym", "x", "i", "z", "p", "s", "t", "q"], ["c", "trfi", "trft"]),
            "Q": (["ev", "sym", "bx", "bp", "bs", "ax", "ap", "as", "c", "t", "q", "z"], ["i"]),
            "A": (stockAgg, []), "AM": (stockAgg, []),
        ],
        .options: [
            "T": (["ev", "sym", "x", "p", "s", "c", "t", "q"], []),
            "Q": (["ev", "sym", "bx", "ax", "bp", "ap", "bs", "as", "t", "q"], []),
            "A": (stockAgg, []), "AM": (stockAgg, []),
        ],
        .indices: ["V": (["ev", "val", "T", "t"], []), "A": (indexAgg, []), "AM": (indexAgg, [])],
        .forex: ["C": (["ev", "p", "x", "a", "b", "t"], []), "CAS": (fxAgg, []), "CA": (fxAgg, [])],
        .crypto: [
            "XT": (["ev", "pair", "p", "t", "s", "i", "x", "r"], ["c"]),
            "XQ": (["ev", "pair", "bp", "bs", "ap", "as", "t", "x", "r"], []),
            "XAS": (cryptoAgg, []), "XA": (cryptoAgg, []),
        ],
    ]
}()

let stringFields: Set<String> = ["ev", "sym", "pair", "T"]

func checkTypes(_ e: Event, market: Market) {
    let ev = e["ev"] as! String
    for (k, v) in e {
        if stringFields.contains(k) || (market == .forex && ev == "C" && k == "p") || (market == .stocks && ev == "T" && k == "i") {
            #expect(v is String, "\(ev).\(k) should be a string: \(v)")
        } else if k == "c" && (ev == "T" || ev == "XT") || (k == "i" && ev == "Q") {
            #expect(v is [Any], "\(ev).\(k) should be an array")
        } else {
            #expect(number(v) != nil && !(v is String), "\(ev).\(k) should be a number: \(v)")
        }
    }
}

let fixedStart = SimulatorConfiguration.parseTime("2025-03-04T15:00:00Z")!

@Suite("WebSocket protocol", .timeLimit(.minutes(1)))
struct WebSocketTests {
    @Test("connect, auth, subscribe and every event of every market with Massive's field names", arguments: Market.allCases)
    func everyMarket(_ market: Market) async throws {
        var config = testConfiguration(rate: 300)
        config.clock = .simulated(startMs: fixedStart, speed: 120)
        let codes = Array(eventFields[market]!.keys)
        try await withSimulator(config) { sim in
            try await withWebSocket(try await sim.webSocketURL(market)) { ws in
                try await ws.waitUntil("connected") { !$0.isEmpty }
                let hello = ws.events
                #expect(hello.count == 1)
                #expect(hello[0]["ev"] as? String == "status")
                #expect(hello[0]["status"] as? String == "connected")
                #expect(hello[0]["message"] as? String == "Connected Successfully")
                try await ws.auth()
                try await ws.waitUntil("auth") { $0.count == 2 }
                #expect(ws.statuses[1] == ("auth_success", "authenticated"))
                try await ws.subscribe(codes.map { "\($0).*" }.joined(separator: ","))
                try await ws.waitUntil("all channels of \(market)", timeout: 10) { events in
                    Set(events.compactMap { $0["ev"] as? String }).isSuperset(of: codes)
                }
                let events = ws.events
                let acks = events.filter { $0["status"] as? String == "success" }.map { $0["message"] as! String }
                #expect(Set(acks) == Set(codes.map { "subscribed to: \($0).*" }))
                for e in events where e["ev"] as? String != "status" {
                    let ev = e["ev"] as! String
                    guard let fields = eventFields[market]![ev] else {
                        Issue.record("unexpected event \(ev) on \(market)")
                        continue
                    }
                    let keys = Set(e.keys)
                    #expect(keys.isSuperset(of: fields.required), "\(market) \(ev) misses \(fields.required.subtracting(keys))")
                    #expect(keys.isSubset(of: fields.required.union(fields.optional)), "\(market) \(ev) has extra \(keys.subtracting(fields.required.union(fields.optional)))")
                    checkTypes(e, market: market)
                    if let t = int64(e["t"] ?? e["s"]) {
                        #expect(t >= fixedStart && t < fixedStart + 3_600_000, "timestamps are ms of the simulated clock")
                    }
                }
            }
        }
    }

    @Test("live clock: event timestamps follow the wall clock")
    func liveTimestamps() async throws {
        try await withSimulator(liveTestConfiguration(rate: 200)) { sim in
            try await withWebSocket(try await sim.webSocketURL(.stocks)) { ws in
                try await ws.auth()
                try await ws.subscribe("T.*,Q.*")
                try await ws.waitUntil("trades") { $0.with(ev: "T").count >= 5 }
                let events = ws.events
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                for e in events where e["ev"] as? String != "status" {
                    let t = int64(e["t"])!
                    #expect(abs(now - t) < 5_000)
                }
            }
        }
    }

    @Test("a required key: a wrong key gets auth_failed and the connection closes")
    func authFailure() async throws {
        var config = liveTestConfiguration()
        config.apiKey = "secret"
        try await withSimulator(config) { sim in
            let url = try await sim.webSocketURL(.stocks)
            try await withWebSocket(url) { ws in
                try await ws.auth("wrong")
                try await ws.waitClosed()
                #expect(ws.statuses.map(\.status) == ["connected", "auth_failed"])
                #expect(ws.statuses.last?.message == "authentication failed")
            }
            try await withWebSocket(url) { ws in
                try await ws.auth("secret")
                try await ws.waitUntil("auth") { $0.count == 2 }
                #expect(ws.statuses.last! == ("auth_success", "authenticated"))
            }
        }
    }

    @Test("no key configured: any non-empty key passes, an empty one fails")
    func anyKey() async throws {
        try await withSimulator(liveTestConfiguration()) { sim in
            let url = try await sim.webSocketURL(.crypto)
            try await withWebSocket(url) { ws in
                try await ws.auth("anything")
                try await ws.waitUntil("auth") { $0.count == 2 }
                #expect(ws.statuses.last!.status == "auth_success")
            }
            try await withWebSocket(url) { ws in
                try await ws.auth("")
                try await ws.waitClosed()
                #expect(ws.statuses.last!.status == "auth_failed")
            }
        }
    }

    @Test("per-param acks in one frame, an error for each bad param only, and an error before auth")
    func acks() async throws {
        try await withSimulator(liveTestConfiguration(rate: 50)) { sim in
            try await withWebSocket(try await sim.webSocketURL(.stocks)) { ws in
                try await ws.subscribe("T.AAPL")
                try await ws.waitUntil("pre-auth error") { $0.count == 2 }
                #expect(ws.statuses[1] == ("error", "not authenticated"))
                try await ws.auth()
                try await ws.waitUntil("auth") { $0.count == 3 }
                let framesBefore = ws.frameCount
                try await ws.subscribe("T.AAPL, ZZ.AAPL,Q.*,bad,T.NOTATICKER,LULD.*")
                try await ws.waitUntil("acks") { $0.count >= 9 }
                let events = ws.events
                #expect(ws.frames[framesBefore]?.count == 6, "all acks of one subscribe come in one frame")
                let acks = Array(events[3..<9]).map { ($0["status"] as! String, $0["message"] as! String) }
                let expected = [
                    ("success", "subscribed to: T.AAPL"), ("error", "invalid subscription: ZZ.AAPL"),
                    ("success", "subscribed to: Q.*"), ("error", "invalid subscription: bad"),
                    ("success", "subscribed to: T.NOTATICKER"), ("success", "subscribed to: LULD.*"),
                ]
                #expect(acks.map(\.0) == expected.map(\.0))
                #expect(acks.map(\.1) == expected.map(\.1))
                try await ws.unsubscribe("T.AAPL")
                try await ws.waitUntil("unsubscribe ack") { events in
                    events.contains { $0["message"] as? String == "unsubscribed to: T.AAPL" }
                }
            }
        }
    }

    @Test("T.* streams every symbol; T.AAPL only AAPL")
    func wildcard() async throws {
        try await withSimulator(liveTestConfiguration(rate: 1_000)) { sim in
            let url = try await sim.webSocketURL(.stocks)
            try await withWebSocket(url) { ws in
                try await ws.auth()
                try await ws.subscribe("T.*")
                try await ws.waitUntil("trades of all symbols") { events in
                    Set(events.with(ev: "T").compactMap { $0["sym"] as? String }).count == 5
                }
                let events = ws.events
                #expect(Set(events.with(ev: "T").map { $0["sym"] as! String }) == Set(Market.stocks.defaultSymbols))
                #expect(events.with(ev: "Q").isEmpty)
            }
            try await withWebSocket(url) { ws in
                try await ws.auth()
                try await ws.subscribe("T.AAPL")
                try await ws.waitUntil("AAPL trades") { $0.with(ev: "T").count >= 20 }
                let events = ws.events
                #expect(Set(events.with(ev: "T").map { $0["sym"] as! String }) == ["AAPL"])
            }
        }
    }

    @Test("unsubscribe: after its ack no event of that channel arrives; the others go on")
    func unsubscribe() async throws {
        try await withSimulator(liveTestConfiguration(rate: 2_000)) { sim in
            try await withWebSocket(try await sim.webSocketURL(.stocks)) { ws in
                try await ws.auth()
                try await ws.subscribe("T.*,Q.*")
                try await ws.waitUntil("trades") { $0.with(ev: "T").count >= 10 }
                try await ws.unsubscribe("T.*")
                try await ws.waitUntil("ack") { events in
                    events.contains { $0["message"] as? String == "unsubscribed to: T.*" }
                }
                try await Task.sleep(for: .milliseconds(300))
                let tradesAfter = ws.countAfter(message: "unsubscribed to: T.*", ev: "T")
                let quotesAfter = ws.countAfter(message: "unsubscribed to: T.*", ev: "Q")
                #expect(tradesAfter == 0)
                #expect(quotesAfter > 10)
            }
        }
    }

    @Test("deterministic: the same seed gives the same first events, another seed others")
    func determinism() async throws {
        func firstEvents(seed: UInt64) async throws -> [String] {
            var config = testConfiguration(rate: 400, seed: seed)
            config.clock = .simulated(startMs: fixedStart, speed: 0)
            config.stopAfterEvents = 600
            let frames = Box<[String]>([])
            try await withSimulator(config) { sim in
                try await withWebSocket(try await sim.webSocketURL(.stocks)) { ws in
                    try await ws.auth()
                    try await ws.subscribe("T.*,Q.*,A.*,AM.*")
                    try await ws.waitClosed(timeout: 10)
                    let data = ws.events.filter { $0["ev"] as? String != "status" }
                    let lines = data.map { e in
                        String(data: try! JSONSerialization.data(withJSONObject: e, options: [.sortedKeys]), encoding: .utf8)!
                    }
                    frames.value = lines
                }
            }
            return frames.value
        }
        let a = try await firstEvents(seed: 11)
        let b = try await firstEvents(seed: 11)
        let c = try await firstEvents(seed: 12)
        #expect(a.count == 600)
        #expect(a == b)
        #expect(a != c)
    }
}

import Synchronization
