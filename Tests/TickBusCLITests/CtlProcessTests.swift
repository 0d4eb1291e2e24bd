import Foundation
import TestSupport
import Testing

/// `tickbus ctl` against real `tickbus sim` and `tickbus ingest` processes.
@Suite(.serialized)
struct CtlProcessTests {

    @Test func withoutIngestItTimesOutWithExitCode2() async throws {
        let run = try TickBusProcess(["ctl", "status", "--endpoint", "tcp://127.0.0.1:\(freeTCPPort())", "--timeout", "0.5"])
        let (status, _, err) = await run.wait()
        #expect(status == 2)
        #expect(err.contains("no reply from") && err.contains("is `tickbus ingest` running"))
    }

    /// `tickbus ctl SUBCOMMAND ARGS… --endpoint control`.
    func ctl(_ control: String, _ arguments: [String]) async throws -> (Int32, String, String) {
        await (try TickBusProcess(["ctl"] + arguments + ["--endpoint", control])).wait()
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    @Test func everyOpThroughCtlAndSubscriptionsSurviveARestart() async throws {
        let simPort = freeTCPPort(), busPort = freeTCPPort(), controlPort = freeTCPPort()
        let control = "tcp://127.0.0.1:\(controlPort)"
        let state = NSTemporaryDirectory() + "tickbus-ctl-\(UUID().uuidString)/subs.json"
        let sim = try TickBusProcess(["sim", "--port", "\(simPort)", "--rate", "500", "--market-time", "2025-03-04T14:30:00Z", "--day-totals-limit", "0"])
        defer { sim.interrupt(); sim.finish() }
        let ingestArguments = [
            "ingest", "--url", "ws://127.0.0.1:\(simPort)/stocks", "--subscribe", "T.AAPL",
            "--bus", "tcp://127.0.0.1:\(busPort)", "--control", control, "--state-file", state,
        ]
        var ingest = try TickBusProcess(ingestArguments)
        defer { ingest.interrupt(); ingest.finish() }

        var (status, out, err) = (Int32(0), "", "")
        for _ in 0..<100 {
            (status, out, err) = try await ctl(control, ["ping", "--timeout", "0.5"])
            if status == 0 { break }
        }
        #expect(status == 0, "\(err)")
        #expect(out.contains("ingest 0."))

        (status, out, err) = try await ctl(control, ["subscribe", "Q.MSFT", "A.*"])
        #expect(status == 0, "\(err)")
        #expect(out.contains("SUBSCRIPTION") && out.contains("Q.MSFT") && out.contains("A.*"))

        (status, out, err) = try await ctl(control, ["unsubscribe", "T.AAPL"])
        #expect(status == 0 && !out.contains("T.AAPL"), "\(out) \(err)")

        (status, out, err) = try await ctl(control, ["subscribe", "not-a-param"])
        #expect(status == 1)
        #expect(err.contains("bad_topic"))

        var records: [[String: Any]] = []
        for _ in 0..<100 where records.isEmpty {
            try await Task.sleep(for: .milliseconds(100))
            (status, out, err) = try await ctl(control, ["snapshot", "Q.MSFT", "--json"])
            records = try json(out)["records"] as? [[String: Any]] ?? []
        }
        #expect(records.first?["topic"] as? String == "Q.MSFT")
        #expect(records.first?["sequence"] as? Int ?? 0 >= 1)
        (status, out, _) = try await ctl(control, ["snapshot", "Q.MSFT"])
        #expect(out.contains("TOPIC") && out.contains("Q.MSFT"))

        (status, out, err) = try await ctl(control, ["status"])
        #expect(status == 0 && out.contains("upstream   streaming") && out.contains("subscribed Q.MSFT A.*"), "\(out) \(err)")

        (status, out, err) = try await ctl(control, [
            "backfill", "SPY", "--from", "2024-01-03", "--to", "2024-01-03", "--timespan", "minute", "--watch",
        ])
        #expect(status == 0, "\(out) \(err)")
        #expect(out.contains("100.0%") && out.contains("done"))
        (status, out, _) = try await ctl(control, ["jobs"])
        #expect(out.contains("SPY") && out.contains("done"))
        (status, out, _) = try await ctl(control, ["job", "1", "--json"])
        let job = try #require(try json(out)["job"] as? [String: Any])
        #expect(job["state"] as? String == "done")
        #expect(job["records"] as? Int ?? 0 > 300)
        (status, _, err) = try await ctl(control, ["job", "42"])
        #expect(status == 1 && err.contains("not_found"))

        // Restart: the subscriptions changed at runtime come back, not --subscribe's.
        ingest.interrupt()
        #expect(await ingest.wait().0 == 0)
        ingest = try TickBusProcess(ingestArguments)
        for _ in 0..<100 {
            (status, out, err) = try await ctl(control, ["subs", "--timeout", "0.5", "--json"])
            if status == 0 { break }
        }
        #expect(try json(out)["subscriptions"] as? [String] == ["Q.MSFT", "A.*"])
    }
}
