import Bars
import Foundation
import Logging
import Massive
import NIOCore
import Simulator
import Synchronization
import Testing
import TickBusCore

/// What the simulator sent, decoded in send order, plus each A/AM bar's `z` (average size).
private final class Capture: Sendable {
    struct State {
        var decoder = MassiveDecoder(market: .stocks)
        var records: [Record] = []
        var averageSize: [String: Int64] = [:]
    }
    let state = Mutex(State())

    func observe(_ buffer: ByteBuffer) {
        let z = (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [[String: Any]]) ?? []
        state.withLock { s in
            buffer.withUnsafeReadableBytes { bytes in
                s.decoder.decode(bytes, receivedAt: 0) { if case .record(let r) = $0 { s.records.append(r) } }
            }
            for e in z {
                guard let ev = e["ev"] as? String, ev == "A" || ev == "AM", let sym = e["sym"] as? String,
                      let start = (e["s"] as? NSNumber)?.int64Value, let avg = (e["z"] as? NSNumber)?.int64Value else { continue }
                s.averageSize["\(ev) \(sym) \(start)"] = avg
            }
        }
    }
}

private struct NoHandler: MassiveStreamHandler {
    func stream(_ event: StreamEvent) {}
    func stream(records: [Record]) {}
}

private func key(_ b: Bar) -> String { "\(b.interval.label) \(b.header.symbol) \(b.header.tsEvent)" }

@Suite(.serialized, .timeLimit(.minutes(1)))
struct SimulatorCrossCheckTests {
    /// Trades from an in-process simulator through BarBuilder [1s, 1m] equal the simulator's own A
    /// and AM bars, field by field, for every window it fully sent.
    @Test func localBarsEqualTheSimulatorsAAndAMBars() async throws {
        let capture = Capture()
        let startMs: Int64 = 1_741_100_400_000  // 2025-03-04T15:00:00Z, a minute boundary
        var config = SimulatorConfiguration(port: 0, seed: 5, rate: 300)
        config.symbols = [.stocks: ["AAPL", "MSFT", "TSLA"]]
        config.clock = .simulated(startMs: startMs, speed: 60)
        config.dayTotalsLimit = 0  // av is not compared; the exact day so far is slow in a debug build
        config.tickInterval = .milliseconds(5)
        config.frameObserver = { market, buffer in if market == .stocks { capture.observe(buffer) } }
        var logger = Logger(label: "bars-test")
        logger.logLevel = .error
        let quiet = logger
        try await MassiveSimulator.withRunning(config, logger: quiet) { sim in
            let url = try await sim.webSocketURL(.stocks)
            let stream = MassiveStream(
                configuration: .init(endpoint: try MassiveEndpoint(url: url, market: .stocks), apiKey: "k",
                                     subscriptions: ["T.*", "A.*", "AM.*"]),
                logger: quiet)
            let task = Task { try await stream.run(handler: NoHandler()) }
            defer { task.cancel() }
            let deadline = ContinuousClock.now + .seconds(40)
            while ContinuousClock.now < deadline {
                let minuteBars = capture.state.withLock { $0.records.filter { if case .bar(let b) = $0 { b.interval == .minute } else { false } }.count }
                if minuteBars >= 6 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            task.cancel()
            _ = await task.result
        }
        let (records, averageSize) = capture.state.withLock { ($0.records, $0.averageSize) }

        // Replay in send order; each upstream bar closes our buckets up to its end (grace 0:
        // the simulator sends a bar only after every trade of its window).
        var builder = BarBuilder(intervals: [.second, .minute], grace: .zero)
        // And the upstream A bars resampled to minutes, as `tickbus bars --source bars` does.
        var resampler = BarBuilder(intervals: [.minute], grace: .zero)
        var resampled: [String: Bar] = [:]
        var local: [String: Bar] = [:]
        var upstream: [String: Bar] = [:]
        var trades = 0
        var ineligible = 0
        for record in records {
            switch record {
            case .trade(let t):
                trades += 1
                if t.conditions.codes.contains(where: { $0 == 37 || $0 == 2 }) { ineligible += 1 }
                builder.add(t) { if case .bar(let b) = $0 { Issue.record("unexpected revision \(key(b))"); local[key(b)] = b } }
            case .bar(let b):
                upstream[key(b)] = b
                builder.close(upTo: b.header.tsEvent + b.interval.nanoseconds) {
                    if case .bar(let mine) = $0 { local[key(mine)] = mine }
                }
                if b.interval == .second { resampler.add(b) { _ in Issue.record("unexpected revision of \(key(b))") } }
            default: break
            }
        }
        #expect(trades > 1_000 && ineligible > 100, "odd lots and average-price trades are in the stream")
        #expect(builder.revisions == 0 && builder.lateTrades == 0)
        resampler.close(upTo: .max) { if case .bar(let mine) = $0 { resampled[key(mine)] = mine } }

        // Fully observed windows: from the start to the end of the last upstream bar of each length
        // and symbol (symbols' bars of one window may straddle the end of the capture).
        let lastEnd = Dictionary(grouping: upstream.values, by: { "\($0.interval.label) \($0.header.symbol)" }).mapValues {
            $0.map { $0.header.tsEvent + $0.interval.nanoseconds }.max()!
        }
        var compared: [BarInterval: Int] = [:]
        for (k, theirs) in upstream {
            guard let mine = local[k] else {
                Issue.record("no local bar for upstream \(k)")
                continue
            }
            #expect(mine.header.tsEvent == theirs.header.tsEvent, "\(k) start")
            #expect(mine.open == theirs.open, "\(k) open")
            #expect(mine.high == theirs.high, "\(k) high")
            #expect(mine.low == theirs.low, "\(k) low")
            #expect(mine.close == theirs.close, "\(k) close")
            #expect(mine.volume == theirs.volume, "\(k) volume")
            // `vw` is sent rounded to 4 decimals (2 + 2 for these symbols): half a unit, plus the
            // 1e-9 grid of Price.
            #expect(abs(mine.vwap.doubleValue - theirs.vwap.doubleValue) <= 0.00005 + 2e-9, "\(k) vwap")
            let z = averageSize["\(theirs.interval == .second ? "A" : "AM") \(theirs.header.symbol) \(theirs.header.tsEvent / 1_000_000)"]
            #expect(z == Int64(mine.volume) / Int64(mine.tradeCount), "\(k) average size z")
            #expect(mine.header.flags == .local && mine.header.market == .stocks)
            compared[theirs.interval, default: 0] += 1
        }
        for (k, mine) in local
        where mine.header.tsEvent + mine.interval.nanoseconds <= lastEnd["\(mine.interval.label) \(mine.header.symbol)"] ?? .min {
            // The simulator sends no AM bar for the minute it started in unless it started on its
            // boundary, which it did here; so every local bar of an observed window has a twin.
            #expect(upstream[k] != nil, "local bar \(k) has no upstream bar")
        }
        #expect(compared[.second, default: 0] > 100)
        #expect(compared[.minute, default: 0] >= 6)
        // Minute bars resampled from the A bars equal the AM bars (VWAP within the A bars' rounding).
        var minutes = 0
        for (k, theirs) in upstream where theirs.interval == .minute {
            let mine = try #require(resampled[k], "no resampled bar for \(k)")
            #expect([mine.open, mine.high, mine.low, mine.close] == [theirs.open, theirs.high, theirs.low, theirs.close], "\(k)")
            #expect(mine.volume == theirs.volume, "\(k) volume")
            #expect(abs(mine.vwap.doubleValue - theirs.vwap.doubleValue) <= 0.0001, "\(k) vwap")
            minutes += 1
        }
        #expect(minutes >= 6)
    }
}
