import Bus
import Foundation
import TestSupport
import Testing
import TickBusCore
import ZeroMQ

/// `tickbus proxy` as a real process between publishers in this process and a `tickbus tap`,
/// with its statistics served as Prometheus counters.
@Suite(.serialized)
struct ProxyProcessTests {
    @Test func twoPublishersThroughTheProxyProcessToTapThenSigtermStopsIt() async throws {
        let context = try ZMQContext()
        let trades = try Publisher(context: context, configuration: .init(name: "pa", endpoints: ["tcp://127.0.0.1:*"]))
        let quotes = try Publisher(context: context, configuration: .init(name: "pb", endpoints: ["tcp://127.0.0.1:*"]))
        let backend = "tcp://127.0.0.1:\(freeTCPPort())"
        let metricsPort = freeTCPPort()
        let proxy = try TickBusProcess([
            "proxy", "--frontend", trades.endpoints[0], "--frontend", quotes.endpoints[0], "--backend", backend,
            "--metrics-port", "\(metricsPort)",
        ])
        defer { proxy.interrupt(); proxy.finish() }
        let tap = try TickBusProcess(["tap", "--json", "--count", "4", "--endpoint", backend, "T.AAPL", "Q.MSFT"])
        defer { tap.interrupt(); tap.finish() }
        // The tap's exact subscriptions cross the proxy to each publisher.
        #expect(try trades.waitForSubscriber(matching: "T.AAPL", timeout: .seconds(20)))
        #expect(try quotes.waitForSubscriber(matching: "Q.MSFT", timeout: .seconds(20)))
        let t0: Int64 = 1_704_187_800_000_000_000
        for i in 0..<2 {
            try trades.publish(.trade(Trade(
                header: RecordHeader(market: .stocks, tsEvent: t0 + Int64(i), tsRecv: t0, symbol: "AAPL"),
                price: Price(units: 100 + Int64(i)), size: 1)))
            try quotes.publish(.quote(Quote(
                header: RecordHeader(market: .stocks, tsEvent: t0 + Int64(i), tsRecv: t0, symbol: "MSFT"),
                bidPrice: Price(units: 400), askPrice: Price(units: 401), bidSize: 1, askSize: 2)))
        }
        let (status, out, err) = await tap.wait()
        #expect(status == 0, "\(err)")
        let objects = try out.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let topics = objects.compactMap { $0["topic"] as? String }
        #expect(topics.filter { $0 == "T.AAPL" }.count == 2 && topics.filter { $0 == "Q.MSFT" }.count == 2, "\(out)")
        #expect(objects.filter { $0["topic"] as? String == "T.AAPL" }.map { $0["epoch"] as? Int } == [Int(trades.epoch), Int(trades.epoch)])
        #expect(objects.filter { $0["topic"] as? String == "Q.MSFT" }.map { $0["sequence"] as? Int } == [1, 2])

        // The proxy's own statistics as Prometheus counters: the 4 records went in and out.
        var metrics: [String: Double] = [:]
        for _ in 0..<300 where metrics["tickbus_proxy_backend_messages_out_total"] ?? 0 < 4 {
            metrics = (try? await MetricsProcessTests.scrape(metricsPort)) ?? [:]
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(metrics["tickbus_proxy_backend_messages_out_total"] ?? 0 >= 4, "\(metrics)")
        #expect(metrics["tickbus_proxy_frontend_messages_in_total"] ?? 0 >= 4)
        #expect(metrics["tickbus_proxy_subscription_messages_total"] ?? 0 >= 2)

        kill(proxy.pid, SIGTERM)
        let (proxyStatus, _, proxyErr) = await proxy.wait()
        #expect(proxyStatus == 0, "\(proxyErr)")
        #expect(proxyErr.contains("proxy forwarding") && proxyErr.contains("proxy stopped"), "\(proxyErr)")
    }

    @Test func withoutAFrontendItExplains() async throws {
        let (status, _, err) = await (try TickBusProcess(["proxy"])).wait()
        #expect(status != 0)
        #expect(err.contains("--frontend"))
    }
}
