import Bus
import TickBusCore

/// Encode + decode throughput of trade records on one core.
public enum CodecBenchmark {
    public static func run(count: Int) -> [Figure] {
        let now = WallClock.nanoseconds()
        let records = (0..<1024).map { SampleRecords.trade($0, now: now) }
        let trades = records.compactMap { record -> Trade? in
            if case .trade(let t) = record { return t } else { return nil }
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: BusMessage.maxSize, alignment: 8)
        defer { buffer.deallocate() }

        var checksum: Int64 = 0
        let tradeStart = MonotonicClock.nanoseconds()
        for i in 0..<count {
            let n = WireFormat.encode(trades[i & 1023], into: buffer)
            if let t = try? WireFormat.decodeTrade(UnsafeRawBufferPointer(rebasing: buffer[..<n])) {
                checksum &+= t.price.raw
            }
        }
        let tradeSeconds = Double(MonotonicClock.nanoseconds() - tradeStart) / 1e9

        let messageStart = MonotonicClock.nanoseconds()
        for i in 0..<count {
            let n = BusMessage.encode(records[i & 1023], into: buffer)
            if case .trade(let t)? = try? BusMessage.decode(UnsafeRawBufferPointer(rebasing: buffer[..<n])) {
                checksum &+= t.price.raw
            }
        }
        let messageSeconds = Double(MonotonicClock.nanoseconds() - messageStart) / 1e9
        precondition(checksum != 0)
        return [
            Figure(name: "codec: trade record encode+decode", value: Double(count) / tradeSeconds,
                   unit: "records/s", target: ">= 20M"),
            Figure(name: "codec: bus message encode+decode (any record, topic checked)",
                   value: Double(count) / messageSeconds, unit: "records/s"),
        ]
    }
}
