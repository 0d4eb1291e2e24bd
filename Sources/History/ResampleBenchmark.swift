import Archive
import Foundation
import TickBusCore

/// `bench resample`: a year of 1-second bars for one symbol (04:00–20:00 Eastern, taken as
/// 09:00–01:00 UTC, trading days only, about 40% of seconds empty) resampled to 15s, 30s and
/// 1min, timed with this process's peak memory.
public enum ResampleBenchmark {
    public struct Result: Sendable {
        public let rows: Int
        public let bytes: Int
        public let seconds: Double
        /// This process's peak resident memory after the run, in MB.
        public let peakMegabytes: Double
    }

    public static let intervals = [BarInterval(label: "15s")!, BarInterval(label: "30s")!, .minute]

    /// Writes the year under `directory/raw_1s/BENCH/`; returns the rows and bytes written.
    public static func generate(in directory: String, year: Int64 = 2024) throws -> (rows: Int, bytes: Int) {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        var rows = 0, bytes = 0
        var cents: Int64 = 47_500
        for month in Int64(1)...12 {
            let file = try AtomicFile(path: "\(directory)/raw_1s/BENCH/\(ArchivePath.monthStem("BENCH", Int(year), Int(month))).csv")
            try file.write(Array((BarCSV.header + "\n").utf8))
            bytes += BarCSV.header.utf8.count + 1
            for day in Int64(1)...UTCTime.daysIn(month: month, year: year) {
                let days = UTCTime.daysSinceEpoch(year: year, month: month, day: day)
                let weekday = (days + 4) % 7  // 0 = Sunday
                guard weekday != 0, weekday != 6 else { continue }
                let first = days * 86_400 + 9 * 3600
                var second = first
                while second < first + 16 * 3600 {
                    defer { second += 1 }
                    guard next() % 10 >= 4 else { continue }
                    let open = cents
                    cents = max(100, cents + Int64(next() % 21) - 10)
                    let high = max(open, cents) + Int64(next() % 4), low = min(open, cents) - Int64(next() % 4)
                    let row = BarRow(start: second * 1_000_000_000, open: Price(raw: open * 10_000_000),
                                     high: Price(raw: high * 10_000_000), low: Price(raw: low * 10_000_000),
                                     close: Price(raw: cents * 10_000_000), volume: Double(1 + next() % 5_000))
                    try file.write { out in
                        let before = out.count
                        BarCSV.append(row, to: &out)
                        bytes += out.count - before
                    }
                    rows += 1
                }
            }
            try file.commit()
        }
        return (rows, bytes)
    }

    /// Resamples what ``generate(in:year:)`` wrote.
    public static func run(in directory: String) throws -> Result {
        let started = ContinuousClock.now
        let summary = try HistoryResample(
            inputDirectory: "\(directory)/raw_1s", outputDirectory: "\(directory)/aggregated", intervals: intervals
        ).run(symbol: "BENCH")
        let elapsed = ContinuousClock.now - started
        let bytes = BarsFile.list(in: "\(directory)/raw_1s/BENCH", symbol: "BENCH").reduce(0) { total, file in
            total + ((try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0)
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Result(rows: summary.rowsIn, bytes: bytes,
                      seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                      peakMegabytes: Double(usage.ru_maxrss) / 1024)
    }
}
