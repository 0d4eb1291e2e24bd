import History
import Testing

@Suite("history fetch: benchmark")
struct HistoryFetchBenchmarkTests {
    @Test("FetchBenchmark parses and writes every bar of its pages")
    func benchmarkRuns() throws {
        let result = try FetchBenchmark.run(bars: 20_000, pages: 2)
        #expect(result.rows == 40_000)
        #expect(result.bytes > 40_000 * 50)
        print("bench fetch: \(Int(result.rowsPerSecond)) rows/s, \(result.bytes / 2) bytes per file")
    }
}
