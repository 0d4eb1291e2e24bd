import Bus
import Foundation
import KDB
import KDBService
import Logging
import Synchronization
import TickBusCore
import ZeroMQ

/// `bench kdb`: the q IPC codec on one core, and bus → `KDBPublisher` → a tickerplant on loopback.
public enum KDBBenchmark {
    public static func run(rows: Int, busRecords: Int) throws -> [Figure] {
        [encodeFigure(rows: rows)] + (try pipelineFigures(records: busRecords))
    }

    /// Trade rows appended to a reused column batch and encoded as `.u.upd` messages of 1000 rows.
    static func encodeFigure(rows: Int) -> Figure {
        let now = WallClock.nanoseconds()
        let trades = (0..<1024).map { i -> Trade in
            guard case .trade(let t) = SampleRecords.trade(i, now: now + Int64(i)) else { fatalError() }
            return t
        }
        let batch = TickBatch(table: .trade, capacity: 1000)
        let out = KBuffer(capacity: 1 << 20)
        var bytes = 0
        let start = MonotonicClock.nanoseconds()
        for i in 0..<rows {
            batch.append(trades[i & 1023])
            if batch.rows == 1000 {
                out.removeAll()
                batch.encodeUpd(into: out)
                bytes &+= out.count
                batch.removeAll()
            }
        }
        let seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
        precondition(bytes > 0)
        return Figure(name: "kdb: trade rows → .u.upd batches (1000 rows), one core", value: Double(rows) / seconds,
                      unit: "rows/s", target: ">= 5M")
    }

    /// Trades published on a bus at full speed, forwarded by a `KDBPublisher` to a minimal
    /// tickerplant on loopback that reads and decodes every message.
    static func pipelineFigures(records: Int) throws -> [Figure] {
        let context = try ZMQContext()
        let tp = try BenchTickerplant()
        let publisher = try Publisher(
            context: context, configuration: .init(name: "bench", endpoints: ["tcp://127.0.0.1:*"], lossless: true))
        var logger = Logger(label: "bench.kdb")
        logger.logLevel = .error
        let service = KDBPublisher(
            configuration: .init(host: "127.0.0.1", port: tp.port, bus: publisher.endpoints,
                                 filters: [try TopicFilter("T.")], flushInterval: .milliseconds(5), flushRows: 5000,
                                 bufferRows: 10_000_000),
            context: context, logger: logger)
        let task = Task { try await service.run() }
        defer { task.cancel() }
        // Wait for the subscription and the tickerplant connection.
        let now = WallClock.nanoseconds()
        let warm = SampleRecords.trade(0, now: now)
        let ready = MonotonicClock.nanoseconds() + 60_000_000_000
        while tp.rows == 0 || !service.counters.connected {
            guard MonotonicClock.nanoseconds() < ready else {
                throw BenchmarkError.failed("kdb publish delivered nothing to the bench tickerplant within 60 s")
            }
            try publisher.publish(warm)
            try publisher.service()
            Thread.sleep(forTimeInterval: 0.01)
        }
        Thread.sleep(forTimeInterval: 0.1)
        let before = tp.snapshot()
        let start = MonotonicClock.nanoseconds()
        for i in 0..<records {
            try publisher.publish(SampleRecords.trade(i, now: now))
        }
        let target = before.rows + records
        let deadline = MonotonicClock.nanoseconds() + 60_000_000_000
        while tp.rows < target && MonotonicClock.nanoseconds() < deadline {
            Thread.sleep(forTimeInterval: 0.001)
        }
        let seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
        let after = tp.snapshot()
        let rows = after.rows - before.rows
        let messages = max(1, after.messages - before.messages)
        return [
            Figure(name: "kdb: bus → kdb publish → tickerplant (loopback, \(rows) of \(records) rows)",
                   value: Double(rows) / seconds, unit: "rows/s"),
            Figure(name: "kdb: rows per .u.upd message under that load", value: Double(rows) / Double(messages),
                   unit: "rows/msg", target: ">= 10"),
        ]
    }
}

/// A minimal tickerplant: accepts one connection, replies to the handshake, answers the
/// publisher's schema query as tick.q with sym.q would, reads every message and counts the rows
/// of its `.u.upd` calls (as q would, without building the rows anywhere).
final class BenchTickerplant: Sendable {
    let port: UInt16
    private let counts = Mutex<(rows: Int, messages: Int)>((0, 0))

    init() throws {
        let listener = try TCPSocket.listen(host: "127.0.0.1", port: 0)
        port = listener.localPort
        let thread = Thread { [self] in
            guard let (socket, _) = try? listener.accept(timeoutMs: 60_000) else { return }
            var reader = KStreamReader(socket: socket)
            guard (try? reader.readHello(timeoutMs: 10_000)) != nil, (try? socket.writeAll([3])) != nil else { return }
            while true {
                let message: [UInt8]
                do {
                    guard let m = try reader.readMessage(maxLength: 1 << 30, idleMs: 1000, stallMs: 10_000) else { continue }
                    message = m
                } catch { return }
                if message[1] == KMessageType.sync.rawValue {
                    guard (try? socket.writeAll(BenchTickerplant.schemaReply)) != nil else { return }
                    continue
                }
                guard let rows = BenchTickerplant.updRows(message) else { return }
                self.counts.withLock { $0.rows += rows; $0.messages += 1 }
            }
        }
        thread.name = "bench-tickerplant"
        thread.start()
    }

    var rows: Int { counts.withLock { $0.rows } }

    /// The answer to the schema query for the trade table: its columns and `meta` types.
    static let schemaReply: [UInt8] = {
        let columns = TickTable.trade.columns
        let types = columns.map { $0.type?.character.asciiValue ?? UInt8(ascii: " ") }
        let pair = KValue.list([.vector(.symbol, .symbols(columns.map(\.name))), .vector(.char, .bytes(types))])
        return try! KMessage.encode(.dictionary(keys: .vector(.symbol, .symbols(["trade"])), values: .list([pair])), type: .response)
    }()

    /// The row count of an uncompressed ``(".u.upd";`t;(col;...))`` message: the count of its
    /// first column, read in place.
    static func updRows(_ m: [UInt8]) -> Int? {
        func int32(_ at: Int) -> Int? {
            at + 4 <= m.count ? Int(Int32(littleEndian: m.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: Int32.self) })) : nil
        }
        // header 8 | list 0 0 3 | ".u.upd": 10 0 n + n bytes | `table NUL | list 0 0 k | column t 0 count
        guard m.count > 27, m[2] == 0, m[8] == 0, int32(10) == 3, m[14] == 10, let n = int32(16), n >= 0,
            20 + n < m.count, m[20 + n] == 0xF5, let nul = m[(21 + n)...].firstIndex(of: 0), m.count >= nul + 13,
            m[nul + 1] == 0
        else { return nil }
        return int32(nul + 9)
    }

    func snapshot() -> (rows: Int, messages: Int) { counts.withLock { $0 } }
}
