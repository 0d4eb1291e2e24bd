import Foundation
import TestSupport
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `tickbus ingest --metrics-port`: Prometheus text over HTTP that moves with, and agrees with,
/// `ctl status`; JSON log lines with `--log-format json`.
@Suite(.serialized)
struct MetricsProcessTests {

    /// `name{labels} value` lines of a Prometheus text page, by name.
    static func parse(_ text: String) throws -> [String: Double] {
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            try #require(parts.count == 2, "a sample line is `name{labels} value`: \(line)")
            let name = parts[0].split(separator: "{")[0]
            values[String(name), default: 0] += try #require(Double(parts[1]), "\(line)")
        }
        return values
    }

    static func scrape(_ port: Int) async throws -> [String: Double] {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect((response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type")?.hasPrefix("text/plain") == true)
        return try parse(String(decoding: data, as: UTF8.self))
    }

    @Test func ingestCountersOverHTTPMoveAndAgreeWithCtlStatus() async throws {
        let simPort = freeTCPPort(), metricsPort = freeTCPPort()
        let bus = "tcp://127.0.0.1:\(freeTCPPort())", control = "tcp://127.0.0.1:\(freeTCPPort())"
        let state = NSTemporaryDirectory() + "tickbus-metrics-\(UUID().uuidString)/subs.json"
        let sim = try TickBusProcess(["sim", "--port", "\(simPort)", "--rate", "1000", "--market-time", "2025-03-04T14:30:00Z", "--day-totals-limit", "0"])
        defer { sim.interrupt(); sim.finish() }
        let ingest = try TickBusProcess([
            "ingest", "--url", "ws://127.0.0.1:\(simPort)/stocks", "--subscribe", "T.*,Q.*", "--bus", bus, "--control", control,
            "--state-file", state, "--metrics-port", "\(metricsPort)", "--log-format", "json",
        ])
        defer { ingest.interrupt(); ingest.finish() }

        var first: [String: Double] = [:]
        for _ in 0..<600 where (first["tickbus_ingest_events_total"] ?? 0) == 0 {
            try await Task.sleep(for: .milliseconds(100))
            first = (try? await Self.scrape(metricsPort)) ?? [:]
        }
        guard let events1 = first["tickbus_ingest_events_total"] else {
            ingest.interrupt()
            let (_, _, err) = await ingest.wait()
            Issue.record("no events_total scraped from port \(metricsPort) in 60 s; ingest's stderr: \(err)")
            return
        }
        #expect(events1 > 0)
        for name in ["tickbus_ingest_records_total", "tickbus_bus_published_total", "tickbus_bus_dropped_total",
                     "tickbus_ingest_reconnects_total", "tickbus_ingest_gaps_total", "tickbus_bus_queued",
                     "tickbus_ingest_seconds_since_last_event", "tickbus_ingest_frames_total"] {
            #expect(first[name] != nil, "\(name) exported")
        }
        #expect(first["tickbus_ingest_streaming"] == 1)

        let (status, out, err) = await (try TickBusProcess(["ctl", "status", "--json", "--endpoint", control])).wait()
        #expect(status == 0, "\(err)")
        let reply = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        let counters = try #require(reply["counters"] as? [String: Any])
        let statusEvents = Double(try #require(counters["events"] as? Int))
        let statusPublished = Double(try #require(counters["published"] as? Int))
        // Taken between two scrapes, status lies between them: the same counters, never doubled.
        var second: [String: Double] = [:]
        for _ in 0..<200 {
            second = try await Self.scrape(metricsPort)
            if second["tickbus_ingest_events_total"] ?? 0 >= statusEvents && second["tickbus_bus_published_total"] ?? 0 >= statusPublished { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(events1 <= statusEvents && statusEvents <= second["tickbus_ingest_events_total"] ?? 0)
        #expect(first["tickbus_bus_published_total"] ?? .infinity <= statusPublished)
        #expect(statusPublished <= second["tickbus_bus_published_total"] ?? 0)
        #expect(second["tickbus_ingest_events_total"] ?? 0 > events1, "the counters move")
        #expect(second["tickbus_ingest_reconnects_total"] == Double(counters["reconnects"] as? Int ?? -1))

        ingest.interrupt()
        let (_, _, ingestErr) = await ingest.wait()
        let lines = ingestErr.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["level"] is String && object?["message"] is String, "not a JSON log line: \(line)")
        }
        #expect(ingestErr.contains("metrics on http://127.0.0.1:\(metricsPort)/metrics"))
    }

    /// SIGTERM right after the metrics server is up: a clean stop with status 0. The HTTP server
    /// once caught the signal itself too, stopped before its turn, and failed the shutdown.
    @Test func sigtermRightAfterMetricsAreUpExitsCleanly() async throws {
        let data = NSTemporaryDirectory() + "tickbus-metrics-stop-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: data) }
        for _ in 0..<8 {
            let archive = try TickBusProcess([
                "archive", "--data-dir", data, "--bus", "tcp://127.0.0.1:\(freeTCPPort())", "--metrics-port", "0",
            ])
            try await archive.waitUntil(timeout: 30, "metrics server up") { _, err in err.contains("metrics on http") }
            archive.terminate()
            let (status, _, err) = await archive.wait()
            #expect(status == 0, "\(err)")
            if status != 0 { return }
        }
    }
}
