import Bus
import Control
import Foundation
import Ingest
import MassiveREST
import TickBusCore
import ZeroMQ

/// `tickbus sim` and `tickbus ingest` as child processes, driven through the control socket:
/// round trips per second for `ping` and `snapshot`, and how fast a backfill publishes the
/// simulator's REST pages onto the bus (unpaced), with a subscriber counting what arrives.
public enum ControlBenchmark {
    public static func run(executable: String, requests: Int, backfillDays: Int) throws -> [Figure] {
        let simPort = 18_790 + Int(getpid() % 1000)
        let control = "ipc:///tmp/tickbus-bench-control-\(getpid())"
        let bus = "ipc:///tmp/tickbus-bench-control-bus-\(getpid())"
        let symbols = (0..<20).map { "S\($0)" }.joined(separator: ",")
        let sim = try IngestBenchmark.launch(executable, [
            "sim", "--port", "\(simPort)", "--rate", "200", "--symbols", "stocks=\(symbols)", "--log-level", "error",
            "--market-time", "2025-03-04T14:30:00Z", "--day-totals-limit", "0",  // live records at any hour
        ])
        defer { sim.terminate(); sim.waitUntilExit() }
        let state = NSTemporaryDirectory() + "tickbus-bench-control-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: state) }
        let ingest = try IngestBenchmark.launch(executable, [
            "ingest", "--url", "ws://127.0.0.1:\(simPort)/stocks", "--subscribe", "T.*", "--bus", bus, "--control", control,
            "--state-file", state, "--reset-subscriptions", "--backfill-rate", "0", "--name", "bench",
        ])
        defer { ingest.terminate(); ingest.waitUntilExit() }

        let context = try ZMQContext()
        let client = try ControlClient(context: context, endpoint: control, timeout: .seconds(30))
        try waitForRecords(client)
        let ping = try rate(requests) { _ = try client.call("ping") }
        let snapshot = try rate(requests / 4) { _ = try client.call("snapshot") { $0.add("topics", raw: #"["T.*"]"#) } }

        let subscriber = try Subscriber(
            context: context, configuration: .init(endpoints: [bus], filters: [try TopicFilter("A.")], receiveHighWaterMark: 1_000_000))
        Thread.sleep(forTimeInterval: 0.5)
        let to = String(format: "2024-01-%02d", 1 + backfillDays)
        let id = try client.call("backfill") {
            $0.add("symbol", string: "S0")
            $0.add("from", string: "2024-01-02")
            $0.add("to", string: to)
            $0.add("timespan", string: "second")
        }["id"]?.string ?? "?"
        var received = 0
        var job = JSONValue.null
        var nextPoll = MonotonicClock.nanoseconds()
        while true {
            if case .record(let record)? = try subscriber.next(timeout: .milliseconds(20)),
               record.kind == .bar, record.header.flags.contains(.historical) { received += 1 }
            guard MonotonicClock.nanoseconds() >= nextPoll else { continue }
            nextPoll = MonotonicClock.nanoseconds() + 100_000_000
            job = try client.call("job") { $0.add("id", string: id) }["job"] ?? .null
            if ["done", "failed", "cancelled"].contains(job["state"]?.string) { break }
        }
        // Drain what is still in flight.
        while case .record(let record)? = try subscriber.next(timeout: .milliseconds(200)) {
            if record.kind == .bar, record.header.flags.contains(.historical) { received += 1 }
        }
        guard job["state"]?.string == "done" else { throw BenchmarkError.failed("backfill: \(job.text)") }
        let records = Double(job["records"]?.int ?? 0)
        let seconds = Double(job["elapsed_ms"]?.int ?? 1) / 1000
        let parse = RESTBenchmark.parseRate()
        let pipeline = try BackfillBenchmark.run(pages: 20)
        return [
            Figure(name: "control: ping round trips", value: ping, unit: "req/s"),
            Figure(name: "control: snapshot of 20 topics", value: snapshot, unit: "req/s"),
            Figure(name: "control: REST page parse (50k second bars per page), one core", value: parse.recordsPerSecond,
                   unit: "records/s"),
            Figure(name: "control: backfill parse + publish + subscriber, pages from memory", value: pipeline.recordsPerSecond,
                   unit: "records/s", target: ">= 500k"),
            Figure(name: "control: backfill from sim REST onto the bus, end to end (\(Int(records)) second bars; sim-bound)",
                   value: records / seconds, unit: "records/s"),
            Figure(name: "control: backfilled bars a subscriber missed", value: records - Double(received)
                   + Double(pipeline.missed), unit: "records", target: "0"),
        ]
    }

    private static func waitForRecords(_ client: ControlClient) throws {
        let deadline = MonotonicClock.nanoseconds() + 30_000_000_000
        while MonotonicClock.nanoseconds() < deadline {
            if let reply = try? client.call("status"), reply["counters"]?["published"]?.int ?? 0 > 0 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw BenchmarkError.failed("ingest published nothing within 30 s")
    }

    private static func rate(_ count: Int, _ body: () throws -> Void) throws -> Double {
        let start = MonotonicClock.nanoseconds()
        for _ in 0..<count { try body() }
        return Double(count) / (Double(MonotonicClock.nanoseconds() - start) / 1e9)
    }
}
