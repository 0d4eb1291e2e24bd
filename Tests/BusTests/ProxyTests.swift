import Bus
import Foundation
import Testing
import TestSupport
import TickBusCore
import ZeroMQ

/// `BusProxy` (libzmq's XSUB/XPUB forwarder) between real publishers and subscribers.
@Suite struct ProxyTests {
    /// A proxy running on a thread of its own, with the endpoints it opened.
    final class RunningProxy: Sendable {
        let proxy: BusProxy
        let frontend: [Endpoint]
        let backend: [Endpoint]
        let outcome = Box<String?>(nil)
        private let thread: TestThread

        init(_ context: ZMQContext, frontend: [Endpoint], backend: [Endpoint] = [Endpoint(.bind, "tcp://127.0.0.1:*")]) throws {
            let proxy = try BusProxy(context: context, configuration: .init(frontend: frontend, backend: backend))
            let opened = Box<([Endpoint], [Endpoint])?>(nil)
            let ready = DispatchSemaphore(value: 0)
            let outcome = outcome
            thread = TestThread("proxy") {
                do {
                    try proxy.run { opened.value = ($0, $1); ready.signal() }
                    outcome.value = "terminated"
                } catch {
                    outcome.value = "\(error)"
                    ready.signal()
                }
            }
            _ = ready.wait(timeout: .now() + 10)
            let (f, b) = try #require(opened.value, "proxy did not start: \(outcome.value ?? "?")")
            self.proxy = proxy
            self.frontend = f
            self.backend = b
        }

        /// Terminates the proxy and waits for its thread; returns how `run` ended.
        func stop() -> String? {
            proxy.terminate()
            _ = thread.wait(seconds: 10)
            return outcome.value
        }
    }

    @Test func twoPublishersThroughTheProxyReachOneSubscriberAndExactSubscriptionsFlowUpstream() throws {
        let context = try ZMQContext()
        let trades = try Publisher(context: context, configuration: .init(name: "pa", endpoints: ["tcp://127.0.0.1:*"]))
        let quotes = try Publisher(context: context, configuration: .init(name: "pb", endpoints: ["tcp://127.0.0.1:*"]))
        let proxy = try RunningProxy(context, frontend: (trades.endpoints + quotes.endpoints).map { Endpoint(.connect, $0) })
        let subscriber = try Subscriber(context: context, configuration: .init(
            endpoints: proxy.backend.map(\.address), filters: [filter("T.AAPL"), filter("Q.MSFT")],
            heartbeatTimeout: .seconds(60)))
        // The subscriber's exact topics (with their trailing space) reach each publisher's XPUB
        // through the proxy, as does the heartbeat prefix the subscriber adds.
        #expect(try waitForSubscriptions(trades, ["T.AAPL ", "Q.MSFT ", "H."]))
        #expect(try waitForSubscriptions(quotes, ["T.AAPL ", "Q.MSFT ", "H."]))
        #expect(!trades.subscriptions.contains(Array("T.AAPLW".utf8)))

        for i in 0..<100 {
            try trades.publish(trade("AAPL", i))
            try trades.publish(trade("AAPLW", i))  // not subscribed: filtered at the publisher
            try quotes.publish(quote("MSFT", i))
        }
        let events = try collect(subscriber, records: 200, within: 10_000)
        let records = events.compactMap(\.record)
        #expect(records.count == 200, "\(events.filter { $0.record == nil })")
        let aapl = records.filter { $0.topic == "T.AAPL" }
        let msft = records.filter { $0.topic == "Q.MSFT" }
        #expect(aapl.map(\.header.sequence) == Array(1...100))
        #expect(msft.map(\.header.sequence) == Array(1...100))
        #expect(aapl.allSatisfy { $0.header.epoch == trades.epoch })
        #expect(msft.allSatisfy { $0.header.epoch == quotes.epoch })
        #expect(aapl.first == stamped(trade("AAPL", 0), epoch: trades.epoch, sequence: 1))
        #expect(subscriber.counters.gaps == 0 && subscriber.counters.invalidTotal == 0)

        // Heartbeats of both publishers pass too.
        try trades.sendHeartbeat()
        try quotes.sendHeartbeat()
        _ = try drain(subscriber, for: 300)
        #expect(subscriber.counters.heartbeats >= 2)

        let statistics = try #require(proxy.proxy.statistics())
        #expect(statistics.frontendMessagesIn >= 202)
        #expect(statistics.backendMessagesOut >= 202)
        #expect(statistics.backendMessagesIn >= 3, "subscriptions in from the subscriber")
        #expect(proxy.stop() == "terminated")
    }

    @Test func aPublisherConnectsToTheProxysBoundFrontend() throws {
        let context = try ZMQContext()
        let proxy = try RunningProxy(context, frontend: [Endpoint(.bind, "tcp://127.0.0.1:*")])
        let frontend = try #require(proxy.frontend.first)
        #expect(frontend.action == .bind && !frontend.address.hasSuffix("*"))
        let publisher = try Publisher(
            context: context, configuration: .init(name: "far", endpoints: [">" + frontend.address], epoch: 42))
        #expect(publisher.endpoints == [frontend.address])
        let subscriber = try Subscriber(context: context, configuration: .init(
            endpoints: proxy.backend.map(\.address), filters: [filter("T.SPY")], heartbeatTimeout: .seconds(60)))
        #expect(try waitForSubscriptions(publisher, ["T.SPY "]))
        for i in 0..<10 { try publisher.publish(trade("SPY", i)) }
        let records = try collect(subscriber, records: 10).compactMap(\.record)
        #expect(records.map(\.header.sequence) == Array(1...10))
        #expect(records.allSatisfy { $0.header.epoch == 42 })
        #expect(proxy.stop() == "terminated")
    }

    @Test func gapsAndRestartsAreStillDetectedThroughTheProxy() throws {
        let context = try ZMQContext()
        let raw = try RawPublisher(context)
        let proxy = try RunningProxy(context, frontend: [Endpoint(.connect, raw.endpoint)])
        let subscriber = try Subscriber(context: context, configuration: .init(
            endpoints: proxy.backend.map(\.address), filters: [filter("T.AAPL")], heartbeatTimeout: .seconds(60)))
        #expect(try raw.waitForSubscription("T.AAPL "))
        for sequence: UInt64 in [1, 2, 5, 6] { try raw.send(trade("AAPL", Int(sequence)), epoch: 7, sequence: sequence) }
        try raw.send(trade("AAPL", 1), epoch: 8, sequence: 1)
        let events = try collect(subscriber, records: 5)
        #expect(events.contains(.gap(topic: Topic(kind: .trade, symbol: sym("AAPL")), expected: 3, received: 5, lost: 2)))
        #expect(events.contains(.restart(topic: Topic(kind: .trade, symbol: sym("AAPL")), previousEpoch: 7, epoch: 8)))
        #expect(subscriber.counters.lost == 2 && subscriber.counters.restarts == 1)
        #expect(proxy.stop() == "terminated")
    }

    @Test func terminateBeforeRunStopsItAtOnceAndABadEndpointIsAnError() throws {
        let context = try ZMQContext()
        let proxy = try BusProxy(context: context, configuration: .init(
            frontend: [Endpoint(.connect, "tcp://127.0.0.1:1")], backend: [Endpoint(.bind, "tcp://127.0.0.1:*")]))
        proxy.terminate()
        try proxy.run()

        let bad = try BusProxy(context: context, configuration: .init(
            frontend: [Endpoint(.connect, "tcp://127.0.0.1:1")], backend: [Endpoint(.bind, "nonsense://x")]))
        #expect(throws: BusError.self) { try bad.run() }
    }

    @Test func endpointSyntaxAndLocality() {
        #expect(Endpoint(parsing: "tcp://10.0.0.5:7700", default: .connect) == Endpoint(.connect, "tcp://10.0.0.5:7700"))
        #expect(Endpoint(parsing: "@tcp://*:7710", default: .connect) == Endpoint(.bind, "tcp://*:7710"))
        #expect(Endpoint(parsing: ">tcp://h:1", default: .bind) == Endpoint(.connect, "tcp://h:1"))
        for local in ["tcp://127.0.0.1:7700", "tcp://127.1.2.3:*", "tcp://localhost:1", "tcp://[::1]:7700",
                      "ipc:///tmp/bus", "inproc://x"] {
            #expect(Endpoint(.bind, local).isLocal, "\(local)")
        }
        for remote in ["tcp://*:7700", "tcp://0.0.0.0:7700", "tcp://10.0.0.5:7700", "tcp://eth0:7700",
                       "tcp://[::]:7700", "tcp://127.0.0.1.evil.com:1", "pgm://eth0;239.1.1.1:5555", "tcp://1270.0.0.1:1"] {
            #expect(!Endpoint(.bind, remote).isLocal, "\(remote)")
        }
    }
}
