import Foundation
import History
import MassiveREST
import Simulator
import Synchronization
import Testing

/// `HistoryFetcher` against an in-process simulator over HTTP.
@Suite("history fetch against the simulator", .timeLimit(.minutes(3)))
struct HistoryFetchTests {
    @Test("one file per UTC month, byte-identical to an independent rendering of the REST JSON")
    func filesMatchIndependentRendering() async throws {
        try await withFetchSimulator { base in
            let directory = scratchDirectory()
            let report = try await fetch(base, into: directory)
            let expected = try await expectedCSV(base, symbol: "MSFT", range: boundaryRange)
            #expect(expected.keys.sorted() == ["MSFT/MSFT_2025_01.csv", "MSFT/MSFT_2025_02.csv"])
            #expect(csvFiles(in: directory) == expected)
            let rows = expected.values.reduce(0) { $0 + $1.split(separator: "\n").count - 1 }
            #expect(report.symbols[0].rowsWritten == rows && report.symbols[0].rowsInFiles == rows && rows > 1_000)
            #expect(report.failure == nil)
            #expect(temporaryFiles(in: directory).isEmpty)
            // Each month has its record; neither month is complete (the range covers parts).
            let records = files(in: directory).keys.filter { $0.hasSuffix(".fetch") }.sorted()
            #expect(records == ["MSFT/.MSFT_2025_01.fetch", "MSFT/.MSFT_2025_02.fetch"])
        }
    }

    @Test("pages of 100 give the same files as one request per month")
    func paginationAcrossChunks() async throws {
        try await withFetchSimulator { base in
            let whole = scratchDirectory("whole")
            let paged = scratchDirectory("paged")
            let one = try await fetch(base, into: whole, symbols: ["MSFT", "AAPL"])
            let many = try await fetch(base, into: paged, symbols: ["MSFT", "AAPL"], pageLimit: 100)
            #expect(one.symbols.map(\.requests) == [2, 2])
            #expect(many.symbols.allSatisfy { $0.requests > 20 })
            #expect(csvFiles(in: whole).count == 4)
            #expect(csvFiles(in: paged) == csvFiles(in: whole))
        }
    }

    @Test("429 bursts and 503s lose no row")
    func faultsLoseNothing() async throws {
        let clean = scratchDirectory("clean")
        try await withFetchSimulator { base in _ = try await fetch(base, into: clean, pageLimit: 200) }
        let log = EventLog()
        let faulty = scratchDirectory("faulty")
        let report = try await withFetchSimulator(configure: {
            $0.faults.restErrorEvery = 4
            $0.faults.restErrorBurst = 2
            $0.faults.restRetryAfter = 0
        }) { base in try await fetch(base, into: faulty, pageLimit: 200, log: log) }
        #expect(report.symbols[0].retries > 5)
        #expect(csvFiles(in: faulty) == csvFiles(in: clean))
        #expect(log.messages.contains { $0.hasPrefix("MSFT: rate limited (429); retrying in") })
        #expect(log.messages.contains { $0.hasPrefix("MSFT: Massive unavailable (503); retrying in") })
    }

    @Test("a refused key, no key, and a plan without second bars stop with the messages users know")
    func authorization() async throws {
        try await withFetchSimulator(configure: { $0.apiKey = "right" }) { base in
            let directory = scratchDirectory()
            let error = await #expect(throws: HistoryFetchError.self) {
                try await fetch(base, into: directory, key: "wrong")
            }
            #expect(error == .unauthorized(message: "Unknown API Key"))
            #expect("\(error!)".contains("Massive refused the API key (Unknown API Key): check MASSIVE_API_KEY"))
            #expect(csvFiles(in: directory).isEmpty)
        }
        #expect(throws: HistoryFetchError.missingAPIKey) {
            try HistoryFetcher(
                options: try HistoryFetchOptions(symbols: ["SPY"], range: boundaryRange, outputDirectory: "/tmp/x"),
                rest: restConfiguration("http://127.0.0.1:1", key: ""))
        }
        #expect("\(HistoryFetchError.missingAPIKey)".contains("MASSIVE_API_KEY not found"))
        #expect("\(HistoryFetchError.missingAPIKey)".contains(".env"))
        try await withFetchSimulator(configure: { $0.plan = .basic }) { base in
            let error = await #expect(throws: HistoryFetchError.self) {
                try await fetch(base, into: scratchDirectory())
            }
            guard case .notEntitled(.secondBars, "MSFT", _) = error else {
                Issue.record("expected notEntitled, got \(String(describing: error))")
                return
            }
            #expect("\(error!)".hasPrefix("your plan does not include 1-second aggregates (MSFT): You are not entitled"))
            // Minute bars are in the basic plan.
            let report = try await fetch(base, into: scratchDirectory(), kind: .minuteBars)
            #expect(report.symbols[0].rowsWritten >= 35)
        }
    }

    @Test("a symbol without data is reported; the run fails only when nothing came back")
    func noData() async throws {
        try await withFetchSimulator { base in
            let log = EventLog()
            let report = try await fetch(base, into: scratchDirectory(), symbols: ["MSFT", "NODATA"], log: log)
            #expect(report.failure == nil)
            #expect(report.symbols[1].rowsInFiles == 0)
            #expect(log.messages.contains { $0.hasPrefix("NODATA: Massive returned no second bars") && $0.contains("spelling") })
            let none = try await fetch(base, into: scratchDirectory(), symbols: ["NODATA"])
            #expect(none.failure == .noData)
        }
    }
}
