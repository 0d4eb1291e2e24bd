import Bus
import Foundation
import Synchronization
import Journal
import TickBusCore
import ZeroMQ

/// Records per second replayed from a journal to a client (``ReplayServer`` → ``ReplayClient``
/// over tcp, every record decoded as a subscriber does), against the live bus (``Publisher`` →
/// ``Subscriber``, tcp, lossless) measured in the same run. The journal's files are in the page
/// cache, as they are for a replay of today.
public enum ReplayBenchmark {
    public static func run(count: Int, repeats: Int = 3, pause: Duration = .seconds(60), rate: Int = 100_000) throws -> [Figure] {
        let context = try ZMQContext(ioThreads: 1)
        let directory = NSTemporaryDirectory() + "tickbus-bench-replay-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try writeJournal(directory, count: count)
        let server = try ReplayServer(context: context, configuration: .init(endpoints: ["tcp://127.0.0.1:*"], directory: directory))
        defer { server.stop() }
        var bus: [Double] = []
        var replay: [Double] = []
        for _ in 0..<repeats {
            bus.append(try BusBenchmark.measure(context, "tcp://127.0.0.1:*", count: count, side: BusSide()))
            replay.append(try measureReplay(context, server.endpoints[0], count: count))
        }
        let busRate = BusBenchmark.median(bus), replayRate = BusBenchmark.median(replay)
        let recovery = try measureRecovery(context, pause: pause, rate: rate)
        return [
            Figure(name: "replay: journal -> client, trade records decoded (tcp)", value: replayRate, unit: "records/s",
                   target: ">= 2,000,000"),
            Figure(name: "replay: the live bus in the same run (tcp)", value: busRate, unit: "records/s"),
            Figure(name: "replay: replay / live bus", value: busRate > 0 ? replayRate / busRate : 0, unit: "x", target: ">= 0.7"),
            Figure(name: "recovery: caught up with live after a \(pause) pause at \(rate / 1000)k records/s", value: recovery.seconds,
                   unit: "s", target: "<= 5"),
            Figure(name: "recovery: records missing or twice after it", value: Double(recovery.wrong), unit: "records", target: "0"),
        ]
    }

    /// A subscriber with recovery reads nothing for `pause` while `rate` trades per second are
    /// published (its queue overflows: libzmq drops most of them), then reads again: seconds
    /// until the record it delivers is less than 100 ms old, and the records missing or
    /// delivered twice once publishing stops and it has drained.
    private static func measureRecovery(_ context: ZMQContext, pause: Duration, rate: Int) throws -> (seconds: Double, wrong: Int) {
        let directory = NSTemporaryDirectory() + "tickbus-bench-recovery-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let publisher = try PublisherService(context: context, configuration: .init(
            name: "bench", endpoints: ["tcp://127.0.0.1:*"], journal: .init(directory: directory, sync: .never),
            replayEndpoints: ["tcp://127.0.0.1:*"]))
        defer { publisher.stop() }
        let subscriber = try Subscriber(context: context, configuration: .init(
            endpoints: publisher.endpoints, filters: [try TopicFilter("T.")], heartbeatTimeout: .seconds(3600),
            recovery: .init(endpoints: publisher.replay?.endpoints ?? [])))
        let deadline = MonotonicClock.nanoseconds() + 10_000_000_000
        while !publisher.subscriptions.contains(Array("T.".utf8)) {
            guard MonotonicClock.nanoseconds() < deadline else { throw BenchmarkError.noSubscriber }
            Thread.sleep(forTimeInterval: 0.01)
        }
        let stop = StopFlag()
        let published = Atomic<Int>(0)
        let feeder = Thread {
            let start = MonotonicClock.nanoseconds()
            var sent = 0
            while !stop.isSet {
                let due = Int((MonotonicClock.nanoseconds() - start) * Int64(rate) / 1_000_000_000)
                while sent < due {
                    if publisher.submit(SampleRecords.trade(sent, now: WallClock.nanoseconds())) { sent += 1 } else { break }
                }
                published.store(sent, ordering: .relaxed)
                Thread.sleep(forTimeInterval: 0.001)
            }
        }
        feeder.start()
        var last = [UInt64](repeating: 0, count: SampleRecords.symbols.count)
        var wrong = 0
        func take(_ event: BusEvent?) -> Int64? {
            guard case .record(let record)? = event,
                  let index = SampleRecords.symbols.firstIndex(of: record.header.symbol) else { return nil }
            if record.header.sequence != last[index] + 1 { wrong += 1 }
            last[index] = record.header.sequence
            return record.header.tsRecv
        }
        Thread.sleep(forTimeInterval: Double(pause.nanoseconds) / 1e9)
        let resumed = MonotonicClock.nanoseconds()
        var caughtUp: Int64?
        while caughtUp == nil && MonotonicClock.nanoseconds() - resumed < 60_000_000_000 {
            if let t = take(try subscriber.next(timeout: .milliseconds(100))), WallClock.nanoseconds() - t < 100_000_000 {
                caughtUp = MonotonicClock.nanoseconds()
            }
        }
        stop.set()
        while !feeder.isFinished { Thread.sleep(forTimeInterval: 0.001) }
        // Drain, revealing a lost tail with one more record per symbol.
        for i in 0..<SampleRecords.symbols.count { publisher.submit(SampleRecords.trade(published.load(ordering: .relaxed) + i, now: WallClock.nanoseconds())) }
        let total = published.load(ordering: .relaxed) + SampleRecords.symbols.count
        while let event = try subscriber.next(timeout: .seconds(2)) { _ = take(event) }
        wrong += abs(total - Int(last.reduce(0, +)))
        return (caughtUp.map { Double($0 - resumed) / 1e9 } ?? .infinity, wrong)
    }

    /// A journal of `count` trades over eight symbols, closed.
    private static func writeJournal(_ directory: String, count: Int) throws {
        let journal = try JournalWriter(configuration: .init(directory: directory, sync: .never, queueBlocks: 1 << 16), publisher: "bench", epoch: 1)
        let appender = journal.appender()
        let now = WallClock.nanoseconds()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: BusMessage.maxSize, alignment: 8)
        defer { buffer.deallocate() }
        var sequences = [UInt64](repeating: 0, count: 8)
        for i in 0..<count {
            sequences[i & 7] += 1
            let size = BusMessage.encode(SampleRecords.trade(i, now: now), into: buffer, stamp: (1, sequences[i & 7]))
            appender.append(UnsafeRawBufferPointer(rebasing: buffer[..<size]))
        }
        appender.flush()
        journal.stop()
        guard journal.counters.messages == UInt64(count) else { throw BenchmarkError.lost(count - Int(journal.counters.messages)) }
    }

    /// One replay of the whole journal; records per second.
    private static func measureReplay(_ context: ZMQContext, _ endpoint: String, count: Int) throws -> Double {
        let client = try ReplayClient(context: context, endpoint: endpoint)
        var topic = Topic(kind: .trade, symbol: Symbol())
        var header = RecordHeader(tsEvent: 0, tsRecv: 0, symbol: Symbol())
        var received = 0
        let start = MonotonicClock.nanoseconds()
        try client.start(ReplayRequest(start: .beginning))
        while try client.receive({ item in
            guard case .message(let message) = item else { return }
            _ = try BusMessage.decode(message, topic: &topic, header: &header)
            received += 1
        }) {}
        let seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
        guard received == count else { throw BenchmarkError.lost(count - received) }
        return Double(count) / seconds
    }
}
