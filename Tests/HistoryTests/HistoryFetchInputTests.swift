import Foundation
import History
import MassiveREST
import Testing

/// Input `tickbus history fetch` refuses before any request, with a clear message.
@Suite("history fetch: bad input")
struct HistoryFetchInputTests {
    @Test("dates: YYYY-MM-DD only, end not before start, UTC days")
    func dates() throws {
        #expect(throws: HistoryFetchError.badDate(option: "--start", text: "2024-13-01")) {
            try FetchRange(start: "2024-13-01", end: "2024-12-31")
        }
        #expect(throws: HistoryFetchError.badDate(option: "--end", text: "yesterday")) {
            try FetchRange(start: "2024-01-01", end: "yesterday")
        }
        #expect(throws: HistoryFetchError.endBeforeStart(start: "2024-02-01", end: "2024-01-01")) {
            try FetchRange(start: "2024-02-01", end: "2024-01-01")
        }
        #expect("\(HistoryFetchError.badDate(option: "--start", text: "2024-13-01"))" == #"--start "2024-13-01" is not a date: use YYYY-MM-DD (2024-01-31)"#)
        let range = try FetchRange(start: "2024-01-01", end: "2024-12-31")
        #expect(range.first == 1_704_067_200 && range.last == 1_735_689_599)
        let day = try FetchRange(start: "2024-02-29", end: "2024-02-29")
        #expect(day.last - day.first == 86_399)
    }

    @Test("symbols: comma lists, no repeats; nothing that is not a ticker or cannot name a directory")
    func symbols() throws {
        #expect(try HistoryFetchOptions.symbols(["SPY,QQQ", " AAPL ", "SPY", "BRK.A"]) == ["SPY", "QQQ", "AAPL", "BRK.A"])
        for bad in ["../x", "a/b", ".hidden", "X:BTCUSD", "EUR/USD", "SP Y", String(repeating: "A", count: 30)] {
            let error = #expect(throws: HistoryFetchError.self, "\(bad)") { try HistoryFetchOptions.symbols([bad]) }
            guard case .badSymbol(let symbol, _) = error else {
                Issue.record("\(bad): \(String(describing: error))")
                continue
            }
            #expect(symbol == bad)
        }
        #expect(throws: HistoryFetchError.noSymbols) { try HistoryFetchOptions.symbols([",", ""]) }
        #expect(throws: HistoryFetchError.noSymbols) { try HistoryFetchOptions.symbols([]) }
    }

    @Test("options out of range")
    func options() throws {
        let range = try FetchRange(start: "2024-01-01", end: "2024-01-31")
        #expect(throws: HistoryFetchError.self) {
            try HistoryFetchOptions(symbols: ["SPY"], range: range, outputDirectory: "d", concurrency: 0)
        }
        #expect(throws: HistoryFetchError.self) {
            try HistoryFetchOptions(symbols: ["SPY"], range: range, outputDirectory: "d", kind: .trades)
        }
    }

    @Test("an output directory that cannot be made is refused before any request")
    func unwritableOutput() async throws {
        let directory = scratchDirectory()
        let blocker = directory + "/file"
        try Data("x".utf8).write(to: URL(fileURLWithPath: blocker))
        let options = try HistoryFetchOptions(
            symbols: ["SPY"], range: try FetchRange(start: "2024-01-01", end: "2024-01-31"), outputDirectory: blocker + "/raw_1s")
        // Nothing listens on port 1: a request would fail differently.
        let fetcher = try HistoryFetcher(options: options, rest: restConfiguration("http://127.0.0.1:1"))
        let error = await #expect(throws: HistoryFetchError.self) { try await fetcher.run() }
        guard case .unwritable(let path, _) = error else {
            Issue.record("\(String(describing: error))")
            return
        }
        #expect(path == blocker + "/raw_1s")
        #expect("\(error!)".hasPrefix("cannot write to the output directory \(blocker)/raw_1s: "))
    }
}
