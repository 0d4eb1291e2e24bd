import Foundation
import Synchronization
import Logging
import Metrics
import Prometheus
import PrometheusExport
import Telemetry
import Testing

@Suite struct TelemetryTests {
    @Test func jsonLogLinesParseAndCarryMetadata() throws {
        let lines = LockedLines()
        var handler = JSONLogHandler(label: "tickbus.test", write: lines.append)
        handler.metadata = ["process": "ingest"]
        let logger = Logger(label: "tickbus.test") { _ in handler }
        logger.warning("reconnected \"now\"\n", metadata: ["gap_start": "2024-01-02T14:30:00Z", "attempt": .stringConvertible(3),
                                                          "list": ["a", "b"], "level": "overridden"])
        logger.debug("not logged at info")
        let written = lines.all
        #expect(written.count == 1 && written[0].hasSuffix("}\n") && written[0].filter { $0 == "\n" }.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(written[0].utf8)) as? [String: Any])
        #expect(object["level"] as? String == "warning")
        #expect(object["label"] as? String == "tickbus.test")
        #expect(object["message"] as? String == "reconnected \"now\"\n")
        #expect(object["process"] as? String == "ingest")
        #expect(object["attempt"] as? String == "3")
        #expect(object["list"] as? [String] == ["a", "b"])
        #expect(object["gap_start"] as? String == "2024-01-02T14:30:00Z")
        let ts = try #require(object["ts"] as? String)
        #expect(ts.count == 24 && ts.hasSuffix("Z"), "\(ts)")
    }

    @Test func snapshotCountersAddOnlyTheGrowthAndGaugesReadTheLastValue() {
        let registry = PrometheusCollectorRegistry()
        let metrics = SnapshotMetrics(dimensions: [("process", "t")], factory: PrometheusMetricsFactory(registry: registry))
        metrics.count("tickbus_test_events_total", total: 10)
        metrics.count("tickbus_test_events_total", total: 25)
        metrics.count("tickbus_test_events_total", total: 25)
        metrics.gauge("tickbus_test_queued", 7)
        metrics.gauge("tickbus_test_queued", 3)
        let text = registry.emitToString()
        #expect(text.contains("tickbus_test_events_total{process=\"t\"} 25\n"), "\(text)")
        #expect(text.contains("tickbus_test_queued{process=\"t\"} 3"), "\(text)")
        #expect(text.contains("# TYPE tickbus_test_events_total counter"))
        // A total that went down (the counted thing restarted) counts on from its new value.
        metrics.count("tickbus_test_events_total", total: 4)
        #expect(registry.emitToString().contains("tickbus_test_events_total{process=\"t\"} 29\n"))
    }
}

final class LockedLines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    @Sendable func append(_ line: String) { lines.withLock { $0.append(line) } }
}
