import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import Testing

@testable import Simulator

/// Send times of data frames and the longest pause between two.
final class SentTimes: Sendable {
    private let state = Mutex<(count: Int, last: ContinuousClock.Instant?, longest: Duration)>((0, nil, .zero))

    func add() {
        let now = ContinuousClock.now
        state.withLock { s in
            if let last = s.last { s.longest = max(s.longest, now - last) }
            s.last = now
            s.count += 1
        }
    }

    var count: Int { state.withLock { $0.count } }
    var longestGap: Duration { state.withLock { $0.longest } }
}

@Suite("Faults, limits and replay", .timeLimit(.minutes(1)))
struct FaultTests {
    @Test("drop: the connection is cut after the configured time", arguments: [true, false])
    func drop(abrupt: Bool) async throws {
        var config = liveTestConfiguration(rate: 200)
        config.faults.dropAfter = .milliseconds(1_000)
        config.faults.dropAbruptly = abrupt
        try await withSimulator(config) { sim in
            let url = try await sim.webSocketURL(.stocks)
            // Taken before connecting, so it precedes the server's own start of the session.
            let start = ContinuousClock.now
            try await withWebSocket(url) { ws in
                // On a loaded machine the cut may come first: these writes may fail, no wait on replies.
                try? await ws.auth()
                try? await ws.subscribe("Q.*")
                try await ws.waitClosed()
                #expect(ContinuousClock.now - start >= .milliseconds(1_000))
                let statuses = ws.statuses.map(\.status)
                #expect(statuses.first == "connected")
                #expect(statuses.allSatisfy { ["connected", "auth_success", "success"].contains($0) }, "\(statuses)")
            }
        }
    }

    @Test("slow_consumer: the status, then the connection closes")
    func slowConsumer() async throws {
        var config = liveTestConfiguration(rate: 100)
        config.faults.slowConsumerAfter = .milliseconds(300)
        try await withSimulator(config) { sim in
            try await withWebSocket(try await sim.webSocketURL(.crypto)) { ws in
                // The server may close first on a loaded machine: these writes may fail.
                try? await ws.auth()
                try? await ws.subscribe("XQ.*")
                try await ws.waitClosed()
                #expect(ws.statuses.last?.status == "slow_consumer")
            }
        }
    }

    @Test("max_connections: a second connection with the same key evicts the first")
    func maxConnections() async throws {
        var config = liveTestConfiguration(rate: 200)
        config.connectionLimit = 1
        try await withSimulator(config) { sim in
            let url = try await sim.webSocketURL(.stocks)
            try await withWebSocket(url) { first in
                try await first.auth("shared")
                try await first.subscribe("Q.*")
                try await first.waitUntil("quotes") { $0.with(ev: "Q").count > 0 }
                try await withWebSocket(url) { second in
                    try await second.auth("shared")
                    try await second.subscribe("Q.*")
                    try await first.waitClosed()
                    #expect(first.statuses.last?.status == "max_connections")
                    let before = second.events.with(ev: "Q").count
                    try await second.waitUntil("the newer one keeps streaming") { $0.with(ev: "Q").count > before + 5 }
                    #expect(!second.inbox.isClosed)
                }
            }
            // Another key on the same market is not affected.
            try await withWebSocket(url) { a in
                try await a.auth("one")
                try await withWebSocket(url) { b in
                    try await b.auth("two")
                    try await b.waitUntil("auth") { $0.count == 2 }
                    try await Task.sleep(for: .milliseconds(100))
                    #expect(!a.inbox.isClosed)
                }
            }
        }
    }

    @Test("malformed frames arrive among good ones and the connection stays up")
    func malformed() async throws {
        var config = liveTestConfiguration(rate: 200)
        config.faults.malformedPerSecond = 60
        try await withSimulator(config) { sim in
            try await withWebSocket(try await sim.webSocketURL(.stocks)) { ws in
                try await ws.auth()
                try await ws.subscribe("T.*")
                try await ws.waitUntil("malformed and good frames", timeout: 5) { events in
                    ws.malformedFrames >= 12 && events.with(ev: "T").count > 10
                }
                #expect(!ws.inbox.isClosed)
            }
        }
    }

    @Test("stall: nothing is sent for a while, then the backlog arrives")
    func stall() async throws {
        var config = liveTestConfiguration(rate: 400)
        config.faults.stallEvery = .milliseconds(800)
        config.faults.stallFor = .milliseconds(500)
        // When the server sent each data frame: a loaded client may read late, so the gap is
        // measured where it is made.
        let sent = SentTimes()
        config.frameObserver = { _, frame in
            if frame.getString(at: frame.readerIndex, length: min(frame.readableBytes, 15)) != #"[{"ev":"status""# {
                sent.add()
            }
        }
        try await withSimulator(config) { sim in
            try await withWebSocket(try await sim.webSocketURL(.stocks)) { ws in
                try await ws.auth()
                try await ws.subscribe("Q.*")
                let deadline = ContinuousClock.now + .seconds(5 * timeoutScale)
                while sent.longestGap < .milliseconds(400), ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(sent.longestGap >= .milliseconds(400))
                // After the stall its backlog arrives: no hole in the quotes' timestamps.
                let resumed = sent.count
                try await ws.waitUntil("frames after the stall", timeout: 5) { _ in sent.count > resumed + 3 }
                try await Task.sleep(for: .milliseconds(200))
                #expect(!ws.inbox.isClosed)
                let times = ws.events.with(ev: "Q").map { int64($0["t"])! }.sorted()
                let maxGap = zip(times, times.dropFirst()).map { $1 - $0 }.max() ?? 0
                #expect(maxGap < 300)
            }
        }
    }

    @Test("auth_timeout when no auth message comes")
    func authTimeout() async throws {
        var config = liveTestConfiguration()
        config.authTimeout = .milliseconds(300)
        try await withSimulator(config) { sim in
            try await withWebSocket(try await sim.webSocketURL(.indices)) { ws in
                try await ws.waitClosed()
                #expect(ws.statuses.map(\.status) == ["connected", "auth_timeout"])
                #expect(ws.statuses.last?.message == "No authentication request received.")
            }
        }
    }

    @Test("basic plan: auth_failed with the plan message")
    func basicPlan() async throws {
        var config = liveTestConfiguration()
        config.plan = .basic
        try await withSimulator(config) { sim in
            try await withWebSocket(try await sim.webSocketURL(.stocks)) { ws in
                try await ws.auth()
                try await ws.waitClosed()
                #expect(ws.statuses.last?.status == "auth_failed")
                #expect(ws.statuses.last?.message.contains("doesn't include websocket access") == true)
            }
        }
    }

    @Test("replay: recorded frames are sent as they are after the first subscribe, handshake frames skipped")
    func replay() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sim-replay-\(UInt64.random(in: 0...UInt64.max)).jsonl").path
        let lines = [
            #"[{"ev":"status","status":"connected","message":"Connected Successfully"}]"#,
            #"[{"ev":"T","sym":"ZZZ","x":4,"i":"1","z":3,"p":1.5,"s":100,"t":1700000000000,"q":1}]"#,
            "",
            #"[{"ev":"Q","sym":"ZZZ","bx":4,"bp":1.4,"bs":100,"ax":4,"ap":1.6,"as":100,"c":0,"t":1700000000100,"q":2,"z":3},{"ev":"status","status":"info","message":"x"}]"#,
            #"not json"#,
        ]
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var config = liveTestConfiguration()
        config.replay = .init(path: path, recordedSpeed: true)
        try await withSimulator(config) { sim in
            try await withWebSocket(try await sim.webSocketURL(.stocks)) { ws in
                try await ws.auth()
                try await ws.subscribe("T.*")
                try await ws.waitUntil("replayed frames") { _ in ws.frameCount >= 5 }
                #expect(ws.malformedFrames == 1)
                let data = ws.events.filter { $0["ev"] as? String != "status" }
                #expect(data.map { $0["ev"] as! String } == ["T", "Q"])
                #expect(ws.statuses.map(\.status) == ["connected", "auth_success", "success", "info"])
            }
        }
    }

    @Test("stop after N events: a normal close")
    func stopAfterEvents() async throws {
        var config = liveTestConfiguration(rate: 5_000)
        config.stopAfterEvents = 250
        try await withSimulator(config) { sim in
            try await withWebSocket(try await sim.webSocketURL(.stocks)) { ws in
                try await ws.auth()
                try await ws.subscribe("T.*,Q.*")
                try await ws.waitClosed()
                #expect(ws.events.filter { $0["ev"] as? String != "status" }.count == 250)
            }
            #expect(sim.stats.eventsSent == 250)
        }
    }

    @Test("REST faults: bursts of 429s with Retry-After, then of 503s that are not JSON; auth comes first")
    func restErrors() async throws {
        var config = testConfiguration()
        config.apiKey = "k"
        config.faults.restErrorEvery = 3
        config.faults.restErrorBurst = 2
        config.faults.restRetryAfter = 0
        try await withSimulator(config) { sim in
            let url = "\(try await sim.restBaseURL())/v2/aggs/ticker/AAPL/range/1/minute/\(fixedStart)/\(fixedStart + 60_000)?apiKey="
            func get(_ key: String = "k") async throws -> (status: Int, retryAfter: String?, body: String) {
                let (data, response) = try await URLSession.shared.data(from: URL(string: url + key)!)
                let http = response as! HTTPURLResponse
                return (http.statusCode, http.value(forHTTPHeaderField: "Retry-After"), String(decoding: data, as: UTF8.self))
            }
            #expect(try await get("wrong").status == 401, "refused keys are not counted")
            var statuses: [Int] = []
            for _ in 0..<6 {
                let reply = try await get()
                statuses.append(reply.status)
                if reply.status == 429 {
                    #expect(reply.retryAfter == "0")
                    #expect(reply.body.contains("maximum requests per minute"))
                }
                if reply.status == 503 { #expect(reply.body.hasPrefix("<html>")) }
            }
            #expect(statuses == [200, 429, 429, 200, 503, 503])
        }
        config.faults.restErrorBurst = 4
        #expect(throws: SimulatorError.self) { try config.validate() }
    }
}
