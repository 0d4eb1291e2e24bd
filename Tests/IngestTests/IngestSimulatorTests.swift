import Bus
import Foundation
import Ingest
import Logging
import Massive
import NIOCore
import Simulator
import Synchronization
import Testing
import TickBusCore
import ZeroMQ

/// `IngestService` against `MassiveSimulator` over real sockets: what the simulator sends is
/// what appears on the bus.
@Suite(.serialized)
struct IngestSimulatorTests {
    let logger = Logger(label: "test")

    /// How ingest's run ended.
    enum IngestOutcome: Equatable, Sendable {
        case running, finished, stream(MassiveStreamError), other(String)

        var failed: Bool {
            switch self {
            case .stream, .other: true
            default: false
            }
        }
    }

    /// Runs a simulator and an ingest while `body` runs; returns how ingest's run ended.
    func withPipeline(
        simulator configure: (inout SimulatorConfiguration) -> Void = { _ in },
        market: TickBusCore.Market = .stocks, subscriptions: [String], apiKey: String = "test-key",
        maxAttempts: Int? = nil, stream adjust: (inout MassiveStream.Configuration) -> Void = { _ in },
        _ body: (BusCollector) async throws -> Void
    ) async throws -> IngestOutcome {
        var configuration = SimulatorConfiguration(port: 0, seed: 7, rate: 2000)
        inRegularSession(&configuration)
        configure(&configuration)
        let simulator = MassiveSimulator(configuration: configuration, logger: logger)
        let context = try ZMQContext()
        let outcome = OutcomeBox()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await simulator.run() }
            let url = try await simulator.webSocketURL(try #require(Simulator.Market(rawValue: market.name)))
            var stream = MassiveStream.Configuration(
                endpoint: try MassiveEndpoint(url: url, market: market), apiKey: apiKey, subscriptions: subscriptions,
                reconnect: .init(initialDelay: .milliseconds(100), maxAttempts: maxAttempts))
            adjust(&stream)
            let ingest = IngestService(
                configuration: .init(
                    stream: stream, busEndpoints: ["tcp://127.0.0.1:*"], countersInterval: .milliseconds(200)),
                context: context, logger: logger)
            group.addTask {
                do {
                    try await ingest.run()
                    outcome.value.withLock { $0 = .finished }
                } catch let error as MassiveStreamError {
                    outcome.value.withLock { $0 = .stream(error) }
                } catch {
                    outcome.value.withLock { $0 = .other("\(error)") }
                }
            }
            var endpoint = ingest.endpoints.first
            for _ in 0..<500 where endpoint == nil {
                try await Task.sleep(for: .milliseconds(10))
                endpoint = ingest.endpoints.first
            }
            let collector = try BusCollector(context: context, endpoint: try #require(endpoint))
            defer { collector.stop() }
            try await body(collector)
            group.cancelAll()
        }
        return outcome.value.withLock { $0 }
    }

    func trades(_ events: [BusEvent]) -> [Trade] {
        events.compactMap { if case .record(.trade(let t)) = $0 { t } else { nil } }
    }

    @Test func stockTradesOnTheBusMatchWhatTheSimulatorSent() async throws {
        let sent = Mutex<[String: SentTrade]>([:])
        let error = try await withPipeline(simulator: { config in
            config.symbols = [.stocks: ["AAPL", "MSFT"]]
            config.frameObserver = { market, buffer in
                guard market == .stocks,
                      let array = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [[String: Any]]
                else { return }
                for event in array where event["ev"] as? String == "T" {
                    let trade = SentTrade(
                        price: event["p"] as? Double ?? .nan, size: event["s"] as? Double ?? .nan,
                        time: event["t"] as? Int64 ?? 0, exchange: event["x"] as? Int, id: event["i"] as? String,
                        conditions: event["c"] as? [Int] ?? [])
                    sent.withLock { $0["\(event["sym"] ?? "")#\(event["q"] ?? "")"] = trade }
                }
            }
        }, subscriptions: ["T.*", "Q.AAPL", "A.*"]) { bus in
            #expect(await bus.wait(timeout: 60) { trades($0).count >= 200 })
            let received = trades(bus.all)
            let sentTrades = sent.withLock { $0 }
            var matched = 0
            for trade in received {
                let event = try #require(sentTrades["\(trade.header.symbol)#\(trade.upstreamSequence)"],
                                         "\(trade.header.symbol) #\(trade.upstreamSequence) was never sent")
                #expect(abs(trade.price.doubleValue - event.price) < 1e-9)
                #expect(trade.size == event.size)
                #expect(trade.header.tsEvent == event.time * 1_000_000)
                #expect(Int(trade.exchange) == event.exchange)
                #expect(trade.tradeID.description == event.id)
                #expect(trade.conditions.codes.map(Int.init) == event.conditions)
                #expect(trade.header.market == .stocks && trade.header.epoch != 0)
                matched += 1
            }
            #expect(matched >= 200)
            // Per-topic sequences have no holes: ingest dropped nothing.
            #expect(!bus.all.contains { if case .gap = $0 { true } else { false } })
            #expect(bus.statuses.contains { $0.contains("\"event\":\"authenticated\"") })
            #expect(bus.statuses.contains { $0.contains("subscribed to: T.*") })
            let quotes = bus.records.compactMap { if case .quote(let q) = $0 { q } else { nil } }
            #expect(!quotes.isEmpty && quotes.allSatisfy { $0.header.symbol == "AAPL" && $0.bidPrice <= $0.askPrice })
        }
        #expect(!error.failed, "\(error)")
    }

    @Test(arguments: [
        (TickBusCore.Market.options, ["T.*", "Q.*"]), (.indices, ["V.*", "A.*"]),
        (.forex, ["C.*", "CAS.*"]), (.crypto, ["XT.*", "XQ.*"]),
    ])
    func everyMarketFlows(market: TickBusCore.Market, subscriptions: [String]) async throws {
        let error = try await withPipeline(market: market, subscriptions: subscriptions) { bus in
            #expect(await bus.wait(timeout: 60) { events in
                events.filter { if case .record(let r) = $0, r.header.market == market, r.kind != .status, r.kind != .heartbeat { true } else { false } }.count >= 20
            })
        }
        #expect(!error.failed, "\(error)")
    }

    @Test func refusedKeyStopsWithAClearError() async throws {
        let error = try await withPipeline(simulator: { $0.apiKey = "right" }, subscriptions: ["T.*"], apiKey: "wrong") { bus in
            #expect(await bus.wait(timeout: 10) { _ in bus.statuses.contains { $0.contains("\"event\":\"stopped\"") } })
            #expect(bus.statuses.contains { $0.contains("refused the API key") })
            #expect(!bus.statuses.contains { $0.contains("\"event\":\"retrying\"") })
        }
        #expect(error == .stream(.authenticationFailed("authentication failed")))
    }

    @Test func planWithoutWebSocketAccessIsExplained() async throws {
        let error = try await withPipeline(simulator: { $0.plan = .basic }, subscriptions: ["T.*"]) { bus in
            #expect(await bus.wait(timeout: 10) { _ in bus.statuses.contains { $0.contains("\"event\":\"stopped\"") } })
            #expect(bus.statuses.contains { $0.contains("plan has no WebSocket access") })
        }
        guard case .stream(.authenticationFailed(let message)) = error else {
            Issue.record("expected an authentication failure, got \(error)")
            return
        }
        #expect(MassiveStreamError.authenticationFailed(message).description.contains("plan has no WebSocket access"))
    }

    /// An upstream that stops answering at any step of the handshake (never upgrades, upgrades
    /// and says nothing, says `connected` and never answers auth) does not hold ingest: each
    /// attempt ends after the step timeout with that step as the reason, and reconnects follow.
    @Test(arguments: SimulatorConfiguration.HandshakeStep.allCases)
    func aSilentHandshakeStepTimesOutAndReconnects(_ step: SimulatorConfiguration.HandshakeStep) async throws {
        let expected = switch step {
        case .upgrade: "no WebSocket upgrade within"
        case .greeting: "no connected greeting within"
        case .auth: "no reply to auth within"
        }
        let outcome = try await withPipeline(
            simulator: { $0.faults.silentAt = step }, subscriptions: ["T.*"],
            stream: { $0.stepTimeout = .milliseconds(400) }
        ) { bus in
            #expect(await bus.wait(timeout: 20) { _ in
                bus.statuses.filter { $0.contains("\"event\":\"disconnected\"") && $0.contains(expected) }.count >= 2
                    && bus.statuses.filter { $0.contains("\"event\":\"connecting\"") }.count >= 3
            }, "\(bus.statuses)")
        }
        #expect(!outcome.failed, "\(outcome)")
    }

    /// A message over the limit is refused whether it comes in one frame or in many small
    /// fragments (which were buffered without bound): the connection is closed, the reason says
    /// so, and it is counted.
    @Test(arguments: [(3 << 20, 3 << 20), (6 << 20, 256 << 10)])
    func anOversizeMessageIsRefusedCountedAndReported(_ bytes: Int, _ fragment: Int) async throws {
        let outcome = try await withPipeline(
            simulator: { $0.faults.oversizeMessage = (bytes, fragment) }, subscriptions: ["T.*"],
            stream: { $0.maxFrameSize = 2 << 20 }
        ) { bus in
            #expect(await bus.wait(timeout: 20) { _ in
                bus.statuses.contains { $0.contains("\"event\":\"disconnected\"") && $0.contains("message too large") }
                    && bus.statuses.contains { $0.contains("\"message_too_large\"") }
            }, "\(bus.statuses.filter { !$0.contains("subscribed") })")
        }
        #expect(!outcome.failed, "\(outcome)")
    }

    /// A status that data followed did not end the connection: it is not given as the reason
    /// of a later close.
    @Test func aStatusFollowedByDataIsNotTheDisconnectReason() async throws {
        let outcome = try await withPipeline(
            simulator: { $0.faults.slowConsumerAfter = .milliseconds(600) }, subscriptions: ["T.*"]
        ) { bus in
            #expect(await bus.wait(timeout: 60) { _ in
                bus.statuses.contains { $0.contains("\"event\":\"disconnected\"") && $0.contains("slow_consumer") }
            })
        }
        #expect(!outcome.failed, "\(outcome)")
    }

    @Test func refusedSubscriptionIsReportedAndTheRestFlows() async throws {
        let error = try await withPipeline(subscriptions: ["ZZ.AAPL", "T.*"]) { bus in
            #expect(await bus.wait(timeout: 10) { events in
                bus.statuses.contains { $0.contains("\"event\":\"subscription_error\"") && $0.contains("ZZ.AAPL") }
                    && trades(events).count >= 10
            })
        }
        #expect(!error.failed, "\(error)")
    }

    @Test func reconnectsReportsTheGapAndResubscribes() async throws {
        let error = try await withPipeline(simulator: { config in
            config.symbols = [.stocks: ["AAPL"]]
            config.faults.dropAfter = .milliseconds(700)
        }, subscriptions: ["T.AAPL"]) { bus in
            // Two reconnections, each followed by the ack of the subscription made again.
            #expect(await bus.wait(timeout: 20) { _ in
                bus.statuses.filter { $0.contains("\"event\":\"reconnected\"") }.count >= 2
                    && bus.statuses.filter { $0.contains("subscribed to: T.AAPL") }.count >= 3
            })
            let reconnected = bus.statuses.filter { $0.contains("\"event\":\"reconnected\"") }
            for status in reconnected {
                let body = try #require(try JSONSerialization.jsonObject(with: Data(status.utf8)) as? [String: Any])
                let start = try #require(body["gap_start"] as? Int64), end = try #require(body["gap_end"] as? Int64)
                #expect(start <= end && end - start < 10_000_000_000)
            }
            #expect(bus.statuses.filter { $0.contains("subscribed to: T.AAPL") }.count >= 3)
            #expect(bus.statuses.contains { $0.contains("\"event\":\"disconnected\"") })
            let lastReconnect = bus.all.lastIndex { event in
                if case .record(.status(let s)) = event { s.json.contains("\"event\":\"reconnected\"") } else { false }
            }
            let tradesAfter = await bus.wait(timeout: 10) { events in
                trades(Array(events[(lastReconnect ?? 0)...])).count > 0
            }
            #expect(tradesAfter)
        }
        #expect(!error.failed, "\(error)")
    }

    @Test func malformedFramesAreCountedAndIngestGoesOn() async throws {
        let error = try await withPipeline(simulator: { config in
            config.symbols = [.stocks: ["AAPL"]]
            config.faults.malformedPerSecond = 50
        }, subscriptions: ["T.*"]) { bus in
            #expect(await bus.wait(timeout: 60) { events in
                bus.statuses.contains { $0.contains("\"event\":\"counters\"") && $0.contains("malformed_json") }
                    && trades(events).count >= 50
            })
        }
        #expect(!error.failed, "\(error)")
    }
}

final class OutcomeBox: Sendable {
    let value = Mutex(IngestSimulatorTests.IngestOutcome.running)
}

/// A trade as the simulator's frame had it.
struct SentTrade: Sendable {
    let price: Double
    let size: Double
    let time: Int64
    let exchange: Int?
    let id: String?
    let conditions: [Int]
}
