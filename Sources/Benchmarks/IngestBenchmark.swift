import Bus
import Foundation
import Histogram
import Journal
import TickBusCore
import ZeroMQ

/// `tickbus sim` → `tickbus ingest` → a bus subscriber, as three processes' worth of work: sim
/// and ingest run as child processes of this executable, the subscriber on a thread here.
///
/// - Sustained rate: the simulator is asked for rising rates; the figure is the highest rate the
///   subscriber received with no record lost anywhere (no ingest drop, no gap).
/// - Full speed: the simulator as fast as it goes; what arrives, and what was lost where. On a
///   small machine the three processes share the cores, and a subscriber that falls behind loses
///   what overflows its queue (seen as gaps), by the bus's design.
/// - Latency from a record's `ts_recv` (when ingest read the frame) to the subscriber at a fixed
///   rate, every record in an HdrHistogram (3 significant digits); ingest's RSS.
public enum IngestBenchmark {
    public static func run(
        executable: String, seconds: Double, latencyRate: Int, rates: [Int] = [800_000, 1_000_000, 1_200_000],
        fullRate: Int = 2_000_000
    ) throws -> [Figure] {
        // Journal off and on, measured alternately at each rate so that the machine's drift
        // hits both alike.
        var sustained = (off: 0.0, on: 0.0)
        for rate in rates {
            for journal in [false, true] {
                let result = try measure(executable: executable, rate: rate, seconds: seconds, latency: false, journal: journal)
                guard result.lost + result.dropped == 0 else { continue }
                if journal { sustained.on = max(sustained.on, result.rate) } else { sustained.off = max(sustained.off, result.rate) }
            }
        }
        let fullOff = try measure(executable: executable, rate: fullRate, seconds: seconds, latency: false, journal: false)
        if fullOff.lost + fullOff.dropped == 0 { sustained.off = max(sustained.off, fullOff.rate) }
        let throughput = try measure(executable: executable, rate: fullRate, seconds: seconds, latency: false, journal: true)
        if throughput.lost + throughput.dropped == 0 { sustained.on = max(sustained.on, throughput.rate) }
        let latency = try measure(executable: executable, rate: latencyRate, seconds: seconds, latency: true, journal: true)
        var figures = [
            Figure(name: "ingest: sustained rate with nothing lost (sim -> ingest -> subscriber), journal on", value: sustained.on,
                   unit: "events/s", target: ">= 1M"),
            Figure(name: "ingest: sustained rate with nothing lost, --no-journal", value: sustained.off, unit: "events/s"),
            Figure(name: "ingest: sustained rate, journal on / off", value: sustained.off > 0 ? 100 * sustained.on / sustained.off : 0,
                   unit: "%", target: ">= 90"),
            Figure(name: "ingest: full speed, received", value: throughput.rate, unit: "events/s"),
            Figure(name: "ingest: full speed, lost in the subscriber's queue (gaps)", value: Double(throughput.lost),
                   unit: "records"),
            Figure(name: "ingest: full speed, dropped by ingest", value: Double(throughput.dropped),
                   unit: "records", target: "0"),
            Figure(name: "ingest: full speed, messages the journal lacks", value: Double(throughput.journalLost),
                   unit: "records", target: "0"),
            Figure(name: "ingest: RSS after the full-speed run (journal on)", value: throughput.rssMegabytes, unit: "MB",
                   target: "<= 64"),
            Figure(name: "ingest: RSS after the full-speed run, --no-journal", value: fullOff.rssMegabytes, unit: "MB"),
        ]
        if let histogram = latency.latencies, histogram.totalCount > 0 {
            func microseconds(_ ns: UInt64) -> Double { Double(ns) / 1000 }
            figures += [
                Figure(name: "ingest: latency p50 at \(latencyRate / 1000)k events/s",
                       value: microseconds(histogram.valueAtPercentile(50)), unit: "us"),
                Figure(name: "ingest: latency p99 at \(latencyRate / 1000)k events/s",
                       value: microseconds(histogram.valueAtPercentile(99)), unit: "us", target: "<= 1000"),
                Figure(name: "ingest: latency max at \(latencyRate / 1000)k events/s",
                       value: microseconds(histogram.max), unit: "us"),
                Figure(name: "ingest: records lost or dropped at \(latencyRate / 1000)k events/s",
                       value: Double(latency.lost + latency.dropped), unit: "records", target: "0"),
            ]
        }
        return figures
    }

    struct Result {
        var rate: Double
        var lost: UInt64
        var dropped: UInt64
        var rssMegabytes: Double
        /// Messages the journal counted as lost (holes), from ingest's metrics.
        var journalLost: UInt64 = 0
        /// Nanoseconds from `ts_recv` to the subscriber, when latency was measured.
        var latencies: Histogram<UInt64>?
    }

    private static func measure(executable: String, rate: Int, seconds: Double, latency: Bool, journal: Bool) throws -> Result {
        let simPort = 17_790 + Int(getpid() % 1000)
        let bus = "ipc:///tmp/tickbus-bench-ingest-\(getpid())"
        let symbols = (0..<20).map { "S\($0)" }.joined(separator: ",")
        // For latency, frames every millisecond (about 100 events at 100k/s): the figure is then
        // the pipeline's, not the time a 10 ms batch waits for its own last event to be decoded.
        // The market clock at a regular open, so the benchmark streams at any hour.
        let sim = try launch(executable, ["sim", "--port", "\(simPort)", "--rate", "\(rate)", "--symbols", "stocks=\(symbols)",
                                          "--log-level", "error", "--tick-ms", latency ? "1" : "10",
                                          "--market-time", "2025-03-04T14:30:00Z", "--day-totals-limit", "0"])
        defer { sim.terminate(); sim.waitUntilExit() }
        let journalDirectory = NSTemporaryDirectory() + "tickbus-bench-journal-\(getpid())"
        let ingest = try launch(executable, ["ingest", "--url", "ws://127.0.0.1:\(simPort)/stocks", "--subscribe", "T.*,Q.*",
                                             "--bus", bus, "--name", "bench"]
                                            + (journal ? ["--journal", journalDirectory] : ["--no-journal"]))
        defer {
            ingest.terminate()
            ingest.waitUntilExit()
            try? FileManager.default.removeItem(atPath: journalDirectory)
        }

        let context = try ZMQContext()
        let subscriber = try Subscriber(
            context: context,
            configuration: .init(endpoints: [bus], receiveHighWaterMark: 1_000_000))
        // Warm up until records flow, then measure.
        let warmDeadline = MonotonicClock.nanoseconds() + 20_000_000_000
        var flowing = false
        while !flowing, MonotonicClock.nanoseconds() < warmDeadline {
            if case .record(let r)? = try subscriber.next(timeout: .milliseconds(100)), r.kind != .heartbeat { flowing = true }
        }
        guard flowing else { throw BenchmarkError.noSubscriber }
        let warmEnd = MonotonicClock.nanoseconds() + 1_000_000_000
        while MonotonicClock.nanoseconds() < warmEnd { _ = try subscriber.next(timeout: .milliseconds(100)) }

        let startCounters = subscriber.counters
        var lastDropped: UInt64 = 0
        var firstDropped: UInt64?
        var latencies = latency ? Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three) : nil
        var records: UInt64 = 0
        let start = MonotonicClock.nanoseconds()
        let end = start + Int64(seconds * 1e9)
        var polls = 0
        // The clock is read every 256 events, not per event: the subscriber is the bottleneck.
        while polls & 255 != 0 || MonotonicClock.nanoseconds() < end {
            polls &+= 1
            guard let event = try subscriber.next(timeout: .milliseconds(100)) else { polls = 0; continue }
            guard case .record(let record) = event else { continue }
            switch record {
            case .heartbeat(let h):
                firstDropped = firstDropped ?? h.dropped
                lastDropped = h.dropped
                continue
            case .status:
                continue
            default:
                break
            }
            records += 1
            if latency { _ = latencies?.record(UInt64(max(0, WallClock.nanoseconds() - record.header.tsRecv))) }
        }
        let elapsed = Double(MonotonicClock.nanoseconds() - start) / 1e9
        let rssMegabytes = rss(of: ingest.processIdentifier)
        ingest.interrupt()
        ingest.waitUntilExit()
        // What the journal says it lacks (its hole blocks), once ingest has closed it.
        let journalLost = JournalDirectory.files(in: journalDirectory).reduce(UInt64(0)) { sum, path in
            sum + ((try? JournalFileReader(path: path).summary())?.holes.reduce(UInt64(0)) { $0 + $1.range.last - $1.range.first + 1 } ?? 0)
        }
        return Result(
            rate: Double(records) / elapsed, lost: subscriber.counters.lost - startCounters.lost,
            dropped: lastDropped - (firstDropped ?? lastDropped), rssMegabytes: rssMegabytes,
            journalLost: journalLost, latencies: latencies)
    }

    static func launch(_ executable: String, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Resident set size of a process in MB, from /proc.
    static func rss(of pid: Int32) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return .nan }
        return kilobytes / 1024
    }
}
