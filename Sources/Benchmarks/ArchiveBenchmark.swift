import Archive
import Foundation
import TickBusCore

/// `tickbus archive`'s writer on one core: records formatted into CSV rows and written to
/// per-symbol monthly files, flushed every 100k rows (about once a second at full rate).
public enum ArchiveBenchmark {
    public static func run(rows count: Int, directory: String) throws -> [Figure] {
        let symbols = (0..<100).map { try! Symbol("S\($0)") }
        let t0: Int64 = 1_704_187_800_000_000_000
        var figures: [Figure] = []
        for kind in ["1 s bars", "trades"] {
            let root = directory + "/" + kind.replacingOccurrences(of: " ", with: "_")
            defer { try? FileManager.default.removeItem(atPath: root) }
            let writer = ArchiveWriter(configuration: .init(directory: root))
            var failures = 0
            let start = MonotonicClock.nanoseconds()
            for i in 0..<count {
                let header = RecordHeader(market: .stocks, tsEvent: t0 + Int64(i / 100) * (kind == "trades" ? 1_000_000 : 1_000_000_000),
                                          tsRecv: t0, symbol: symbols[i % 100])
                let price = Price(raw: 475_320_000_000 + Int64(i % 97) * 10_000_000)
                if kind == "trades" {
                    writer.add(.trade(Trade(header: header, price: price, size: Double(1 + i % 300), upstreamSequence: Int64(i),
                                            exchange: 4, tape: 3, tradeID: "52983525029461")))
                } else {
                    writer.add(.bar(Bar(header: header, open: price, high: price, low: price, close: price,
                                        volume: Double(i % 5000), tradeCount: 7, interval: .second)))
                }
                if i % 100_000 == 99_999 { writer.flush { _ in failures += 1 } }
            }
            writer.flush { _ in failures += 1 }
            writer.close()
            let seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
            guard failures == 0, writer.counters.rows == UInt64(count) else {
                throw ArchiveBenchmarkError.incomplete(written: writer.counters.rows, expected: count)
            }
            figures.append(Figure(name: "archive: \(kind) → CSV files (100 symbols)", value: Double(count) / seconds,
                                  unit: "rows/s", target: ">= 1M"))
        }
        return figures
    }
}

public enum ArchiveBenchmarkError: Error, CustomStringConvertible {
    case incomplete(written: UInt64, expected: Int)

    public var description: String {
        switch self {
        case .incomplete(let written, let expected): "archive benchmark wrote \(written) of \(expected) rows"
        }
    }
}
