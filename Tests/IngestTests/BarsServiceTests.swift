import Bars
import BarsService
import Bus
import Foundation
import Ingest
import Logging
import Massive
import Simulator
import Testing
import TickBusCore
import ZeroMQ

/// `tickbus bars` on a live pipeline: simulator → ingest → bars, over real sockets. Its `B1s`
/// bars equal the simulator's own `A` bars for every window it saw whole.
@Suite(.serialized)
struct BarsServiceTests {
    let logger = Logger(label: "test")

    @Test func oneSecondBarsEqualTheSimulatorsBars() async throws {
        var configuration = SimulatorConfiguration(port: 0, seed: 5, rate: 1000)
        configuration.symbols = [.stocks: ["AAPL", "MSFT"]]
        inRegularSession(&configuration)
        let simulator = MassiveSimulator(configuration: configuration, logger: logger)
        let context = try ZMQContext()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await simulator.run() }
            let url = try await simulator.webSocketURL(.stocks)
            let ingest = IngestService(
                configuration: .init(
                    stream: .init(endpoint: try MassiveEndpoint(url: url, market: .stocks), apiKey: "k",
                                  subscriptions: ["T.*", "A.*"]),
                    busEndpoints: ["tcp://127.0.0.1:*"]),
                context: context, logger: logger)
            group.addTask { try await ingest.run() }
            var input: String?
            for _ in 0..<500 where input == nil {
                try await Task.sleep(for: .milliseconds(10))
                input = ingest.endpoints.first
            }
            let bars = BarsService(
                configuration: .init(input: [try #require(input)], output: ["tcp://127.0.0.1:*"],
                                     intervals: [.second, .minute], grace: .milliseconds(500)),
                context: context, logger: logger)
            group.addTask { try await bars.run() }
            let output = try await bars.endpoints().first
            let upstream = try BusCollector(context: context, endpoint: try #require(input), filters: ["A."])
            let local = try BusCollector(context: context, endpoint: try #require(output), filters: ["B1s.", "S.bars"])
            defer {
                upstream.stop()
                local.stop()
            }
            func barsOf(_ collector: BusCollector) -> [Bar] {
                collector.records.compactMap { if case .bar(let b) = $0 { b } else { nil } }
            }
            #expect(await upstream.wait(timeout: 20) { _ in barsOf(upstream).count >= 16 })
            // Ours close at the window's end plus the grace: give the last ones time.
            let theirs = barsOf(upstream)
            try await Task.sleep(for: .seconds(2))
            let ours = barsOf(local)
            // Windows both saw whole: after the first bar of ours, before the last of theirs.
            let first = try #require(ours.map(\.header.tsEvent).min())
            var matched = 0
            for bar in theirs where bar.header.tsEvent > first {
                // The last version: under load trades can come after the grace, as revisions.
                let mine = try #require(ours.last {
                    $0.header.symbol == bar.header.symbol && $0.header.tsEvent == bar.header.tsEvent
                }, "no B1s bar for \(bar.header.symbol) at \(UTCTime.iso8601(nanoseconds: bar.header.tsEvent))")
                #expect(mine.open == bar.open && mine.high == bar.high && mine.low == bar.low && mine.close == bar.close)
                #expect(mine.volume == bar.volume)
                #expect(mine.header.flags.contains(.local) && mine.interval == .second)
                #expect(ours.filter { $0.header.symbol == bar.header.symbol && $0.header.tsEvent == bar.header.tsEvent }
                    .dropFirst().allSatisfy { $0.header.flags.contains(.revision) })
                matched += 1
            }
            #expect(matched >= 10)
            #expect(bars.counters.trades > 100)
            #expect(local.all.allSatisfy { if case .gap = $0 { false } else { true } })
            group.cancelAll()
        }
    }

    /// `--source bars`: the simulator's A bars resampled live into 5-second bars, each equal to
    /// the merge of the A bars of its window (for windows seen whole).
    @Test func fiveSecondBarsResampledFromUpstreamSecondBars() async throws {
        var configuration = SimulatorConfiguration(port: 0, seed: 9, rate: 1000)
        configuration.symbols = [.stocks: ["AAPL", "MSFT"]]
        inRegularSession(&configuration)
        let simulator = MassiveSimulator(configuration: configuration, logger: logger)
        let context = try ZMQContext()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await simulator.run() }
            let url = try await simulator.webSocketURL(.stocks)
            let ingest = IngestService(
                configuration: .init(
                    stream: .init(endpoint: try MassiveEndpoint(url: url, market: .stocks), apiKey: "k", subscriptions: ["A.*"]),
                    busEndpoints: ["tcp://127.0.0.1:*"]),
                context: context, logger: logger)
            group.addTask { try await ingest.run() }
            var input: String?
            for _ in 0..<500 where input == nil {
                try await Task.sleep(for: .milliseconds(10))
                input = ingest.endpoints.first
            }
            let upstream = try BusCollector(context: context, endpoint: try #require(input), filters: ["A."])
            let bars = BarsService(
                configuration: .init(input: [try #require(input)], output: ["tcp://127.0.0.1:*"],
                                     intervals: [try BarInterval(seconds: 5)], grace: .seconds(1.5), source: .secondBars),
                context: context, logger: logger)
            group.addTask { try await bars.run() }
            let output = try await bars.endpoints().first
            let local = try BusCollector(context: context, endpoint: try #require(output), filters: ["B5s."])
            defer {
                upstream.stop()
                local.stop()
            }
            func barsOf(_ collector: BusCollector) -> [Bar] {
                collector.records.compactMap { if case .bar(let b) = $0 { b } else { nil } }
            }
            #expect(await local.wait(timeout: 30) { _ in barsOf(local).count >= 6 })
            let theirs = barsOf(upstream), ours = barsOf(local)
            let firstSeen = try #require(theirs.map(\.header.tsEvent).min())
            var matched = 0
            for mine in ours where mine.header.tsEvent > firstSeen {
                let window = theirs.filter {
                    $0.header.symbol == mine.header.symbol && $0.header.tsEvent >= mine.header.tsEvent
                        && $0.header.tsEvent < mine.header.tsEvent + 5_000_000_000
                }.sorted { $0.header.tsEvent < $1.header.tsEvent }
                let first = try #require(window.first), last = try #require(window.last)
                #expect(mine.open == first.open && mine.close == last.close, "\(mine)")
                #expect(mine.high == window.map(\.high).max() && mine.low == window.map(\.low).min(), "\(mine)")
                #expect(mine.volume == window.reduce(0) { $0 + $1.volume }, "\(mine)")
                #expect(mine.header.flags == .local && mine.interval.seconds == 5)
                matched += 1
            }
            #expect(matched >= 4)
            #expect(bars.counters.inputBars > 10 && bars.counters.trades == 0)
            group.cancelAll()
        }
    }
}
