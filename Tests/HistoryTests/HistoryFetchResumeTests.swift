import Foundation
import History
import MassiveREST
import Simulator
import Synchronization
import Testing

/// Interrupted fetches, resumed; complete months skipped; `force`.
@Suite("history fetch: resume and force", .timeLimit(.minutes(3)))
struct HistoryFetchResumeTests {
    @Test("a fetch cancelled mid-month keeps a partial month; the next run completes it exactly")
    func resumeAfterCancellation() async throws {
        try await withFetchSimulator { base in
            let reference = scratchDirectory("reference")
            try await fetch(base, into: reference)
            let directory = scratchDirectory("interrupted")
            let options = try HistoryFetchOptions(symbols: ["MSFT"], range: boundaryRange, outputDirectory: directory)
            let canceller = Canceller()
            let fetcher = try HistoryFetcher(
                options: options, rest: restConfiguration(base, pageLimit: 100), logger: fetchTestLogger
            ) { event in
                if case .progress(let p) = event, p.rowsWritten >= 500 { canceller.cancel() }
            }
            let running = Task { try await fetcher.run() }
            canceller.set(running)
            await #expect(throws: CancellationError.self) { try await running.value }

            let partial = csvFiles(in: directory)
            let january = try #require(partial["MSFT/MSFT_2025_01.csv"])
            let full = try #require(csvFiles(in: reference)["MSFT/MSFT_2025_01.csv"])
            #expect(january.count < full.count && full.hasPrefix(january), "a prefix of the month")
            #expect(partial["MSFT/MSFT_2025_02.csv"] == nil)
            #expect(temporaryFiles(in: directory).isEmpty)

            let report = try await fetch(base, into: directory, pageLimit: 100)
            #expect(csvFiles(in: directory) == csvFiles(in: reference))
            let referenceRows = csvFiles(in: reference).values.reduce(0) { $0 + $1.split(separator: "\n").count - 1 }
            #expect(report.symbols[0].rowsWritten == referenceRows - (january.split(separator: "\n").count - 1))
            #expect(temporaryFiles(in: directory).isEmpty)
        }
    }

    @Test("a killed run (temporary file left, month file without its record) resumes after the last row")
    func resumeAfterKill() async throws {
        try await withFetchSimulator { base in
            let reference = scratchDirectory("reference")
            try await fetch(base, into: reference)
            let expected = csvFiles(in: reference)
            let directory = scratchDirectory("killed")
            try FileManager.default.createDirectory(atPath: directory + "/MSFT", withIntermediateDirectories: true)
            // What a SIGKILL leaves: the month file of an earlier commit (no record) and a
            // temporary file of a process that is gone.
            let lines = expected["MSFT/MSFT_2025_01.csv"]!.split(separator: "\n", omittingEmptySubsequences: false)
            let half = lines.prefix(lines.count / 2).joined(separator: "\n") + "\n"
            try half.write(toFile: directory + "/MSFT/MSFT_2025_01.csv", atomically: false, encoding: .utf8)
            try "2025-01-31 23:5".write(toFile: directory + "/MSFT/.MSFT_2025_01.csv.tmp-4000000", atomically: false, encoding: .utf8)
            let log = EventLog()
            try await fetch(base, into: directory, log: log)
            #expect(csvFiles(in: directory) == expected)
            #expect(temporaryFiles(in: directory).isEmpty)
            #expect(log.messages.contains { $0.contains("MSFT_2025_01.csv: keeping the rows of a file without a fetch record") })
        }
    }

    @Test("complete months are skipped; force fetches them again")
    func completeMonthsAndForce() async throws {
        // Minute bars of all February 2025 and the first days of March, at a low rate.
        let range = try FetchRange(start: "2025-02-01", end: "2025-03-02")
        try await withFetchSimulator(rate: 2) { base in
            let directory = scratchDirectory()
            let first = try await fetch(base, into: directory, range: range, kind: .minuteBars)
            #expect(first.symbols[0].monthsSkipped == 0 && first.symbols[0].rowsWritten > 1_000)
            let record = try #require(files(in: directory)["MSFT/.MSFT_2025_02.fetch"])
            let json = try #require(try JSONSerialization.jsonObject(with: record) as? [String: Any])
            #expect(json["complete"] as? Bool == true)
            #expect(json["timespan"] as? String == "minute")
            #expect(json["first"] as? String == "2025-02-01 00:00:00+00:00")
            #expect(json["last"] as? String == "2025-02-28 23:59:59+00:00")
            let march = try #require(try JSONSerialization.jsonObject(with: files(in: directory)["MSFT/.MSFT_2025_03.fetch"]!) as? [String: Any])
            #expect(march["complete"] as? Bool == false)
            let before = files(in: directory)

            let again = try await fetch(base, into: directory, range: range, kind: .minuteBars)
            #expect(again.symbols[0].requests == 0 && again.symbols[0].monthsSkipped == 2)
            #expect(again.symbols[0].rowsInFiles == first.symbols[0].rowsInFiles)
            #expect(files(in: directory) == before)

            // Damage February: force fetches it again.
            let february = directory + "/MSFT/MSFT_2025_02.csv"
            let good = try #require(FileManager.default.contents(atPath: february))
            try FileManager.default.removeItem(atPath: february)
            try Data("ts_event,open,high,low,close,volume\n".utf8).write(to: URL(fileURLWithPath: february))
            let forced = try await fetch(base, into: directory, range: range, kind: .minuteBars, force: true)
            #expect(forced.symbols[0].monthsSkipped == 0 && forced.symbols[0].requests == 2)
            #expect(FileManager.default.contents(atPath: february) == good)
            #expect(csvFiles(in: directory) == before.filter { $0.key.hasSuffix(".csv") }.mapValues { String(decoding: $0, as: UTF8.self) })
        }
    }

    @Test("a later run with a later end continues a month cut by the earlier end")
    func extendEnd() async throws {
        try await withFetchSimulator { base in
            let reference = scratchDirectory("reference")
            try await fetch(base, into: reference)
            let directory = scratchDirectory("extended")
            try await fetch(base, into: directory, range: try FetchRange(first: boundaryRange.first, last: boundaryRange.first + 599))
            let report = try await fetch(base, into: directory)
            #expect(report.symbols[0].requests == 2)
            #expect(csvFiles(in: directory) == csvFiles(in: reference))
        }
    }
}
