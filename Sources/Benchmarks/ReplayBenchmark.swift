import Bus
import Foundation
import Journal
import TickBusCore
import ZeroMQ

/// Records per second replayed from a journal to a client (``ReplayServer`` → ``ReplayClient``
/// over tcp, every record decoded as a subscriber does), against the live bus (``Publisher`` →
/// ``Subscriber``, tcp, lossless) measured in the same run. The journal's files are in the page
/// cache, as they are for a replay of today.
public enum ReplayBenchmark {
    public static func run(count: Int, repeats: Int = 3) throws -> [Figure] {
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
        return [
            Figure(name: "replay: journal -> client, trade records decoded (tcp)", value: replayRate, unit: "records/s",
                   target: ">= 2,000,000"),
            Figure(name: "replay: the live bus in the same run (tcp)", value: busRate, unit: "records/s"),
            Figure(name: "replay: replay / live bus", value: busRate > 0 ? replayRate / busRate : 0, unit: "x", target: ">= 0.7"),
        ]
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
