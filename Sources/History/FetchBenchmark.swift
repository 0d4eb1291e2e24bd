import Foundation
import MassiveREST
import TickBusCore

/// How fast fetched pages become CSV: an aggregates page of second bars built in memory (no
/// network), parsed by ``RESTPageParser`` and written by the month file writer, repeatedly.
public enum FetchBenchmark {
    public struct Result: Sendable {
        public let rows: Int
        public let bytes: Int
        public let seconds: Double
        public var rowsPerSecond: Double { Double(rows) / seconds }
    }

    /// Parses `pages` pages of `bars` second bars and writes each to a month file (in a
    /// temporary directory, removed afterwards); rows per second from the first parse to the
    /// last rename.
    public static func run(bars: Int = 50_000, pages: Int = 20) throws -> Result {
        let body = Array(RESTBenchmark.pageBody(bars: bars).utf8)
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tickbus-fetch-bench-\(ProcessInfo.processInfo.processIdentifier)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var parser = RESTPageParser(kind: .secondBars, symbol: "AAPL", market: .stocks)
        var rows = 0
        var bytes = 0
        let start = ContinuousClock.now
        for _ in 0..<max(pages, 1) {
            let page = try body.withUnsafeBytes { raw throws -> RESTPage in try parser.parse(raw, receivedAt: 0) }
            var file = try MonthFile(path: directory + "/AAPL/AAPL_2025_03.csv", keeping: false)
            rows += try file.append(page.records, within: Int64.min...Int64.max)
            bytes += file.bytes
            try file.commit()
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Result(rows: rows, bytes: bytes, seconds: seconds)
    }
}
