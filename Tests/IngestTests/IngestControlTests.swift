import Bus
import Control
import Foundation
import Ingest
import Logging
import Massive
import MassiveREST
import Simulator
import Synchronization
import TestSupport
import Testing
import TickBusCore
import ZeroMQ

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Ingest's control socket against a running ingest and simulator, through a real REQ socket.
@Suite(.serialized)
struct IngestControlTests {
    let logger = Logger(label: "test")

    struct Fixture {
        let bus: BusCollector
        let control: ControlClient
        let context: ZMQContext
        let busEndpoint: String
        let restBase: String
        let stateFile: String
        /// The simulator's market time − wall time (ms).
        let marketShiftMs: Int64
    }

    func withIngest(
        simulator configure: (inout SimulatorConfiguration) -> Void = { _ in }, subscriptions: [String],
        backfillRate: Int = 200_000, onDemand: Bool = false, _ body: (Fixture) async throws -> Void
    ) async throws {
        var configuration = SimulatorConfiguration(port: 0, seed: 11, rate: 1000)
        configuration.symbols = [.stocks: ["AAPL", "MSFT", "SPY"]]
        let marketShiftMs = inRegularSession(&configuration)
        configure(&configuration)
        let simulator = MassiveSimulator(configuration: configuration, logger: logger)
        let context = try ZMQContext()
        let stateFile = NSTemporaryDirectory() + uniqueName("ingest-state") + "/subscriptions.json"
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await simulator.run() }
            let url = try await simulator.webSocketURL(.stocks)
            let restBase = try await simulator.restBaseURL()
            let ingest = IngestService(
                configuration: .init(
                    stream: .init(endpoint: try MassiveEndpoint(url: url, market: .stocks), apiKey: "k",
                                  subscriptions: subscriptions, reconnect: .init(initialDelay: .milliseconds(100))),
                    busEndpoints: ["tcp://127.0.0.1:*"], countersInterval: .milliseconds(200),
                    controlEndpoint: "tcp://127.0.0.1:*", stateFile: stateFile,
                    rest: MassiveRESTConfiguration(apiKey: "k", baseURL: restBase, pageLimit: 500),
                    backfill: .init(rate: backfillRate), gapRepairDelay: .milliseconds(500), onDemand: onDemand),
                context: context, logger: logger)
            group.addTask { try await ingest.run() }
            var endpoints: (String?, String?) = (nil, nil)
            for _ in 0..<500 where endpoints.1 == nil {
                try await Task.sleep(for: .milliseconds(10))
                endpoints = (ingest.endpoints.first, ingest.controlEndpoint)
            }
            let collector = try BusCollector(context: context, endpoint: try #require(endpoints.0))
            defer { collector.stop() }
            let control = try ControlClient(context: context, endpoint: try #require(endpoints.1), timeout: .seconds(10))
            try await body(Fixture(
                bus: collector, control: control, context: context, busEndpoint: try #require(endpoints.0), restBase: restBase,
                stateFile: stateFile, marketShiftMs: marketShiftMs))
            group.cancelAll()
        }
    }

    func count(_ bus: BusCollector, _ topic: String) -> Int {
        bus.records.count { Topic(of: $0).description == topic }
    }

    @Test func subscribeAndUnsubscribeChangeWhatFlowsWithoutReconnecting() async throws {
        try await withIngest(subscriptions: ["T.AAPL"]) { f in
            #expect(await f.bus.wait(timeout: 60) { _ in count(f.bus, "T.AAPL") >= 5 })
            let added = try f.control.call("subscribe") { $0.add("topics", raw: #"["Q.MSFT","T.AAPL"]"#) }
            #expect(added["added"] == .array([.string("Q.MSFT")]))
            #expect(added["subscriptions"] == .array([.string("T.AAPL"), .string("Q.MSFT")]))
            #expect(await f.bus.wait(timeout: 60) { _ in count(f.bus, "Q.MSFT") >= 5 })
            #expect(try SubscriptionStore(path: f.stateFile).load(market: .stocks) == ["T.AAPL", "Q.MSFT"])

            let removed = try f.control.call("unsubscribe") { $0.add("topics", raw: #"["T.AAPL","T.NOPE"]"#) }
            #expect(removed["removed"] == .array([.string("T.AAPL")]))
            #expect(removed["not_subscribed"] == .array([.string("T.NOPE")]))
            #expect(await f.bus.wait(timeout: 10) { _ in f.bus.statuses.contains { $0.contains("unsubscribed to: T.AAPL") } })
            let before = count(f.bus, "T.AAPL")
            try await Task.sleep(for: .milliseconds(600))
            #expect(count(f.bus, "T.AAPL") == before)
            #expect(count(f.bus, "Q.MSFT") > 5)

            let subs = try f.control.call("subscriptions")
            #expect(subs["subscriptions"] == .array([.string("Q.MSFT")]))
            #expect(subs["acknowledged"] == .array([.string("Q.MSFT")]))
            let status = try f.control.call("status")
            #expect(status["upstream"]?["state"]?.string == "streaming")
            #expect(status["upstream"]?["connections"]?.int == 1)
            #expect(status["counters"]?["published"]?.int ?? 0 > 0)
            #expect(try SubscriptionStore(path: f.stateFile).load(market: .stocks) == ["Q.MSFT"])
        }
    }

    /// Clone pattern: each snapshot record is one the bus carried, with the same sequence.
    @Test func snapshotReturnsTheLastRecordOfEachTopicWithItsSequence() async throws {
        try await withIngest(subscriptions: ["T.*", "Q.AAPL"]) { f in
            #expect(await f.bus.wait(timeout: 60) { _ in count(f.bus, "T.MSFT") >= 3 && count(f.bus, "Q.AAPL") >= 3 })
            let reply = try f.control.call("snapshot") { $0.add("topics", raw: #"["T.*","Q.AAPL","A.*"]"#) }
            let records = try #require(reply["records"]?.array)
            let topics = Set(records.compactMap { $0["topic"]?.string })
            #expect(topics.isSuperset(of: ["T.AAPL", "T.MSFT", "T.SPY", "Q.AAPL"]))
            #expect(records.allSatisfy { $0["epoch"]?.int == reply["epoch"]?.int })
            #expect(await f.bus.wait(timeout: 5) { _ in
                let seen = Set(f.bus.records.map(RecordFormatter.json))
                return records.allSatisfy { seen.contains($0.text) }
            })
            let one = try f.control.call("snapshot") { $0.add("topics", raw: #"["Q.AAPL"]"#) }
            #expect(one["count"]?.int == 1)
        }
    }

    /// The bars the simulator's REST serves for a range, fetched independently with Foundation.
    func restBars(_ base: String, _ path: String) async throws -> [[String: Any]] {
        var url = URL(string: base + path)!
        var bars: [[String: Any]] = []
        while true {
            var request = URLRequest(url: url)
            request.setValue("Bearer k", forHTTPHeaderField: "Authorization")
            let (data, _) = try await URLSession.shared.data(for: request)
            let body = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            bars += body["results"] as? [[String: Any]] ?? []
            guard let next = body["next_url"] as? String else { return bars }
            url = URL(string: next)!
        }
    }

    @Test func backfillPublishesExactlyTheRESTBarsInOrderWhileLiveRecordsFlow() async throws {
        try await withIngest(subscriptions: ["T.*"]) { f in
            #expect(await f.bus.wait(timeout: 60) { _ in count(f.bus, "T.AAPL") >= 3 })
            // 20 minutes from 2024-01-03 09:30 ET on the simulator's market clock.
            let from = 1_704_292_200_000 - f.marketShiftMs, to = from + 20 * 60_000
            let expected = try await restBars(f.restBase, "/v2/aggs/ticker/SPY/range/1/second/\(from)/\(to)?limit=50000")
            #expect(expected.count > 500)
            let liveBefore = count(f.bus, "T.AAPL")
            let reply = try f.control.call("backfill") {
                $0.add("symbol", string: "SPY")
                $0.add("from", raw: String(from))
                $0.add("to", raw: String(to))
                $0.add("timespan", string: "second")
            }
            let id = try #require(reply["id"]?.string)
            var job = JSONValue.null
            for _ in 0..<300 {
                job = try f.control.call("job") { $0.add("id", string: id) }["job"] ?? .null
                if ["done", "failed"].contains(job["state"]?.string) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(job["state"]?.string == "done", "\(job.text)")
            #expect(job["records"]?.int == Int64(expected.count))
            #expect(job["pages"]?.int ?? 0 > 1)
            #expect(await f.bus.wait(timeout: 10) { _ in count(f.bus, "A.SPY") == expected.count })
            let bars = f.bus.records.compactMap { r -> Bar? in
                if case .bar(let b) = r, Topic(of: r).description == "A.SPY" { b } else { nil }
            }
            #expect(bars.count == expected.count)
            for (bar, rest) in zip(bars, expected) {
                #expect(bar.header.flags.contains(.historical))
                #expect(bar.header.tsEvent == (rest["t"] as! Int64) * 1_000_000)
                #expect(abs(bar.open.doubleValue - (rest["o"] as! Double)) < 1e-9)
                #expect(abs(bar.high.doubleValue - (rest["h"] as! Double)) < 1e-9)
                #expect(abs(bar.low.doubleValue - (rest["l"] as! Double)) < 1e-9)
                #expect(abs(bar.close.doubleValue - (rest["c"] as! Double)) < 1e-9)
                #expect(bar.volume == (rest["v"] as! NSNumber).doubleValue)
                #expect(bar.tradeCount == (rest["n"] as! NSNumber).uint64Value)
            }
            // No gap on the backfilled topic, and the live stream kept flowing.
            #expect(!f.bus.all.contains { if case .gap(let topic, _, _, _) = $0 { topic.description == "A.SPY" } else { false } })
            #expect(count(f.bus, "T.AAPL") > liveBefore)
            let jobs = try f.control.call("jobs")
            #expect(jobs["jobs"]?.array?.count == 1)
            #expect(f.bus.statuses.contains { $0.contains("\"event\":\"job_done\"") && $0.contains("\"job\":\"\(id)\"") })
        }
    }

    @Test func gapRepairBackfillsTheWindowMissedAcrossAReconnection() async throws {
        try await withIngest(simulator: { $0.faults.dropAfter = .seconds(3) }, subscriptions: ["A.*", "T.AAPL"]) { f in
            #expect(await f.bus.wait(timeout: 20) { _ in f.bus.statuses.contains { $0.contains("\"reason\":\"gap_repair\"") } })
            #expect(await f.bus.wait(timeout: 20) { _ in f.bus.statuses.contains { $0.contains("\"event\":\"job_done\"") } })
            let jobs = try #require(try f.control.call("jobs")["jobs"]?.array)
            let repairs = jobs.filter { $0["reason"]?.string == "gap_repair" }
            #expect(!repairs.isEmpty)
            #expect(repairs.allSatisfy { $0["timespan"]?.string == "second" })
            let symbols = Set(repairs.compactMap { $0["symbol"]?.string })
            #expect(symbols.isSubset(of: ["AAPL", "MSFT", "SPY"]))
            #expect(repairs.allSatisfy { $0["state"]?.string != "failed" })
            // The repaired bars lie in the windows the reconnections reported (the simulator
            // drops the connection every 3 s, so there may be several).
            let windows = try f.bus.statuses.filter { $0.contains("\"event\":\"reconnected\"") }.map { text in
                let window = try JSONValue.parse(text)
                return (try #require(window["gap_start"]?.int), try #require(window["gap_end"]?.int))
            }
            #expect(await f.bus.wait(timeout: 10) { _ in
                f.bus.records.contains { $0.kind == .bar && $0.header.flags.contains(.historical) }
            })
            let repaired = f.bus.records.filter { $0.kind == .bar && $0.header.flags.contains(.historical) }
            #expect(repaired.allSatisfy { bar in
                windows.contains { bar.header.tsEvent >= $0.0 - 1_000_000_000 && bar.header.tsEvent <= $0.1 }
            })
        }
    }

    /// `--on-demand`: a bus subscriber's prefixes become upstream subscriptions, and go away with it.
    @Test func onDemandFollowsTheBusSubscribers() async throws {
        try await withIngest(subscriptions: [], onDemand: true) { f in
            let trades = try BusCollector(context: f.context, endpoint: f.busEndpoint, filters: ["T.AAPL", "Q."])
            #expect(await trades.wait(timeout: 60) { _ in count(trades, "T.AAPL") >= 3 && count(trades, "Q.MSFT") >= 3 })
            #expect(count(trades, "T.MSFT") == 0)
            #expect(f.bus.statuses.contains { $0.contains("subscribed to: T.AAPL") })
            #expect(f.bus.statuses.contains { $0.contains("subscribed to: Q.*") })
            trades.stop()
            #expect(await f.bus.wait(timeout: 10) { _ in f.bus.statuses.contains { $0.contains("unsubscribed to: T.AAPL") } })
            #expect(try f.control.call("subscriptions")["subscriptions"] == .array([]))
        }
    }

    @Test(arguments: [
        (#"{"op":"subscribe","topics":["AAPL"]}"#, "bad_topic"),
        (#"{"op":"subscribe"}"#, "missing_field"),
        (#"{"op":"unsubscribe","topics":[]}"#, "bad_field"),
        (#"{"op":"snapshot","topics":["ZZ.X"]}"#, "bad_topic"),
        (#"{"op":"backfill","symbol":"SPY","from":"2024-01-05","to":"2024-01-02","timespan":"minute"}"#, "bad_range"),
        (#"{"op":"backfill","symbol":"SPY","from":"2024-01-01","to":"2024-03-01","timespan":"second"}"#, "bad_range"),
        (#"{"op":"backfill","symbol":"SPY","from":"2024-01-02","to":"2024-01-03","timespan":"week"}"#, "bad_timespan"),
        (#"{"op":"backfill","symbol":"SPY","from":"yesterday","to":"2024-01-03"}"#, "bad_date"),
        (#"{"op":"backfill","symbol":"S P Y","from":"2024-01-02","to":"2024-01-03"}"#, "bad_symbol"),
        (#"{"op":"backfill","symbol":7,"from":"2024-01-02","to":"2024-01-03"}"#, "bad_field"),
        (#"{"op":"job","id":"999"}"#, "not_found"),
        (#"{"op":"frobnicate"}"#, "unknown_op"),
    ])
    func badRequestsGetTheirDocumentedCode(_ request: String, _ code: String) async throws {
        try await withIngest(subscriptions: ["T.AAPL"]) { f in
            let reply = try f.control.send(request)
            #expect(reply["ok"] == .bool(false))
            #expect(reply["error"]?["code"]?.string == code, "\(reply.text)")
            #expect(try f.control.call("ping")["name"]?.string == "ingest")
        }
    }
    /// A long subscription list (the sharding docs/bus.md recommends) starts and runs: the
    /// status records that carry it are cut to size and say so, instead of trapping.
    @Test func tenThousandSubscriptionsWork() async throws {
        let topics = ["T.AAPL"] + (0..<10_000).map { "Q.Z\($0)" }
        try await withIngest(subscriptions: topics) { f in
            #expect(await f.bus.wait(timeout: 30) { _ in count(f.bus, "T.AAPL") >= 3 })
            let added = try f.control.call("subscribe") { $0.add("topics", raw: #"["Q.MSFT"]"#) }
            #expect(added["added"] == .array([.string("Q.MSFT")]))
            #expect(await f.bus.wait(timeout: 60) { _ in f.bus.statuses.contains { $0.contains("subscriptions_changed") } })
            let changed = try #require(f.bus.statuses.first { $0.contains("subscriptions_changed") })
            let body = try JSONValue.parse(changed)
            #expect(body["subscriptions_count"]?.int == 10_002)
            #expect(body["subscriptions_truncated"]?.bool == true)
            #expect(try f.control.call("subscriptions")["subscriptions"]?.array?.count == 10_002)
        }
    }

    /// Subscriptions are Massive's syntax for ingest's market, or refused before they are
    /// saved or sent upstream; an empty one is `bad_field`; unsubscribe reports the params it
    /// split out; a backfill symbol cannot be a path segment like `..`.
    @Test func hostileSubscriptionsAndSymbolsAreRefused() async throws {
        try await withIngest(subscriptions: ["T.AAPL"]) { f in
            let cases: [(String, String)] = [
                (#"["T.\u001b[2J"]"#, "bad_topic"), (#"["T.A\u0007"]"#, "bad_topic"), (#"["T.A\u0000"]"#, "bad_topic"),
                (#"["T.A\u007f"]"#, "bad_topic"), (#"["T.AA*"]"#, "bad_topic"), (#"["T.*.*"]"#, "bad_topic"),
                (#"["B1m.AAPL"]"#, "bad_topic"), (#"["S.ingest"]"#, "bad_topic"), (#"["ZZ.AAPL"]"#, "bad_topic"),
                (#"["XT.BTC-USD"]"#, "bad_topic"), (#"["t.aapl"]"#, "bad_topic"), (#"[""]"#, "bad_field"),
                (#"[","]"#, "bad_field"), (#"["T.MSFT",""]"#, "bad_field"),
            ]
            for (topics, code) in cases {
                for op in ["subscribe", "unsubscribe"] {
                    let reply = try f.control.send(#"{"op":"\#(op)","topics":\#(topics)}"#)
                    #expect(reply["error"]?["code"]?.string == code, "\(op) \(topics): \(reply.text)")
                    #expect(!(reply["error"]?["message"]?.string ?? "").unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
                }
            }
            #expect(try f.control.call("subscriptions")["subscriptions"] == .array([.string("T.AAPL")]))
            // Nothing was saved: the state file is still unwritten (or holds only T.AAPL).
            #expect(try (SubscriptionStore(path: f.stateFile).load(market: .stocks) ?? ["T.AAPL"]) == ["T.AAPL"])

            _ = try f.control.call("subscribe") { $0.add("topics", raw: #"["Q.MSFT"]"#) }
            let removed = try f.control.call("unsubscribe") { $0.add("topics", raw: #"["Q.MSFT,Q.NONE"]"#) }
            #expect(removed["removed"] == .array([.string("Q.MSFT")]))
            #expect(removed["not_subscribed"] == .array([.string("Q.NONE")]))

            for symbol in [".", "..", "../x", "A/B"] {
                let reply = try f.control.send(#"{"op":"backfill","symbol":"\#(symbol)","from":"2024-01-02","to":"2024-01-03"}"#)
                #expect(reply["error"]?["code"]?.string == "bad_symbol", "\(symbol): \(reply.text)")
            }
        }
    }

    /// Dates and Unix times whose ns do not fit 64 bits (or whose span does not) are refused
    /// with an error object; ingest lives on and publishes no record dated from a wrapped time.
    @Test func outOfRangeBackfillDatesAreRefused() async throws {
        try await withIngest(subscriptions: ["T.AAPL"]) { f in
            let cases: [(String, String, String)] = [
                ("2024-01-01", "9999-12-31", "bad_date"), ("0001-01-01", "2024-01-02", "bad_date"),
                ("2024-01-01", "2263-01-01", "bad_date"), ("1677-01-01", "2024-01-02", "bad_date"),
                ("1678-01-01", "2261-12-31", "bad_range"), ("2024-01-01", "9999999999", "bad_date"),
                ("2024-01-01", "2262-05-01T00:00:00Z", "bad_date"), ("1000000000", "9000000000000000000", "bad_range"),
            ]
            for (from, to, code) in cases {
                for timespan in ["second", "day"] {
                    let reply = try f.control.send(
                        #"{"op":"backfill","symbol":"SPY","from":"\#(from)","to":"\#(to)","timespan":"\#(timespan)"}"#)
                    #expect(reply["ok"] == .bool(false), "\(from)..\(to): \(reply.text)")
                    #expect(reply["error"]?["code"]?.string == code, "\(from)..\(to): \(reply.text)")
                }
            }
            let numeric = try f.control.send(#"{"op":"backfill","symbol":"SPY","from":1704067200,"to":9223372036854775807}"#)
            #expect(numeric["error"]?["code"]?.string == "bad_range", "\(numeric.text)")
            #expect(try f.control.call("ping")["name"]?.string == "ingest")
        }
    }

}
