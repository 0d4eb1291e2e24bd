import Archive
import Foundation
import History
import Testing
import TickBusCore

@Suite struct HistoryResampleTests {
    let labels = ["15s", "30s", "1min", "5min", "1h", "1d"]

    /// The same files, byte for byte, as the old pipeline's pandas code (run here with pandas).
    @Test func filesEqualPandasByteForByte() async throws {
        let raw = temporaryDirectory("raw"), ours = temporaryDirectory("ours"), theirs = temporaryDirectory("pandas")
        defer { for d in [raw, ours, theirs] { try? FileManager.default.removeItem(atPath: d) } }
        try writeRandomSecondBars(raw, symbol: "SPY", year: 2024, month: 1, days: 2...3, seed: 1)
        try writeRandomSecondBars(raw, symbol: "SPY", year: 2024, month: 2, days: 28...29, seed: 2)
        let intervals = labels.map { BarInterval(label: $0)! }
        let summary = try HistoryResample(inputDirectory: raw, outputDirectory: ours, intervals: intervals).run(symbol: "SPY")
        #expect(summary.files == 2 && summary.problems.isEmpty)
        #expect(summary.rowsIn > 30_000)

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("pandas_resample.py").path
        for (month, stem) in [(1, "SPY_2024_01"), (2, "SPY_2024_02")] {
            let (status, err) = try await run("/usr/bin/env", ["python3", script, "\(raw)/SPY/\(stem).csv", theirs, "SPY", "2024", "\(month)"] + labels)
            try #require(status == 0, "pandas is needed for this test (make test installs it): \(err)")
            for label in labels {
                let name = "\(label)/\(stem)_\(label).csv"
                let mine = try String(contentsOfFile: "\(ours)/\(name)", encoding: .utf8)
                let pandas = try String(contentsOfFile: "\(theirs)/\(name)", encoding: .utf8)
                #expect(mine.split(separator: "\n").count > 1)
                #expect(mine == pandas, "\(name) differs from pandas")
            }
        }
    }

    /// Two months of QQQ with `row` as line 6 of March, resampled to minutes: the summary, and
    /// the raw and output directories (removed by the caller).
    func resampleWithBadRow(_ row: String) throws -> (HistoryResample.Summary, raw: String, out: String) {
        let raw = temporaryDirectory("raw"), out = temporaryDirectory("out")
        try writeRandomSecondBars(raw, symbol: "QQQ", year: 2024, month: 3, days: 1...1, seed: 3)
        try writeRandomSecondBars(raw, symbol: "QQQ", year: 2024, month: 4, days: 1...1, seed: 4)
        let path = "\(raw)/QQQ/QQQ_2024_03.csv"
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[5] = row
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let summary = try HistoryResample(inputDirectory: raw, outputDirectory: out, intervals: [.minute]).run(symbol: "QQQ")
        return (summary, raw, out)
    }

    @Test func aMalformedRowIsReportedWithFileAndLineAndOtherMonthsGoOn() throws {
        let (summary, raw, out) = try resampleWithBadRow("2024-03-01 14:30:09+00:00,1,2,x,1,10")
        defer { for d in [raw, out] { try? FileManager.default.removeItem(atPath: d) } }
        #expect(summary.files == 1)
        #expect(summary.problems.map(\.line) == [6])
        #expect(summary.problems.first?.description.contains("QQQ_2024_03.csv:6: low \"x\" is not a number") == true)
        #expect(FileManager.default.fileExists(atPath: "\(out)/1min/QQQ_2024_04_1min.csv"))
        #expect(!FileManager.default.fileExists(atPath: "\(out)/1min/QQQ_2024_03_1min.csv"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: "\(out)/1min").filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty)
    }

    /// Numbers and times that do not fit 64 bits (a volume in the price column, year 9999) are
    /// a `file:line` problem like any bad row: no trap, the other months are written, no
    /// temporary file is left; `validate` reports them the same way.
    @Test(arguments: [
        ("2024-03-01 14:30:09+00:00,9223372037,9223372037,1,1,10", "open \"9223372037\" is out of range"),
        ("2024-03-01 14:30:09+00:00,1,1.2e10,1,1,10", "high \"1.2e10\" is out of range"),
        ("2024-03-01 14:30:09+00:00,1,1,1,99999999999999999,10", "close \"99999999999999999\" is out of range"),
        ("9999-03-01 14:30:09+00:00,1,1,1,1,10", "bad ts_event: out of range"),
    ])
    func outOfRangeRowsAreReportedWithFileAndLine(_ row: String, _ message: String) throws {
        let (summary, raw, out) = try resampleWithBadRow(row)
        defer { for d in [raw, out] { try? FileManager.default.removeItem(atPath: d) } }
        #expect(summary.files == 1)
        #expect(summary.problems.map(\.line) == [6])
        #expect(summary.problems.first?.description.contains("QQQ_2024_03.csv:6: \(message)") == true, "\(summary.problems)")
        #expect(FileManager.default.fileExists(atPath: "\(out)/1min/QQQ_2024_04_1min.csv"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: "\(out)/1min").filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty)

        let report = HistoryValidate(inputDirectory: raw, interval: .second).run()
        #expect(!report.ok)
        #expect(report.examples.values.joined().contains { $0.line == 6 && $0.description.contains(message) })
    }

    @Test func anEmptyFileIsAProblemAtItsFirstLine() throws {
        let (_, raw, out) = try resampleWithBadRow("2024-03-01 14:30:09+00:00,1,2,1,1,10")
        defer { for d in [raw, out] { try? FileManager.default.removeItem(atPath: d) } }
        try Data().write(to: URL(fileURLWithPath: "\(raw)/QQQ/QQQ_2024_03.csv"))
        let again = try HistoryResample(inputDirectory: raw, outputDirectory: out, intervals: [.minute]).run(symbol: "QQQ")
        #expect(again.files == 1)
        #expect(again.problems.map(\.description) == ["\(raw)/QQQ/QQQ_2024_03.csv:1: the file is empty: no header \(BarCSV.header)"])
    }

    @Test func lengthsThatCrossMonthsOrRepeatAreRefused() {
        #expect(HistoryResample.refusal([BarInterval(label: "15s")!, .minute, .day]) == nil)
        #expect(HistoryResample.refusal([BarInterval(label: "7s")!])?.hasPrefix("7s does not divide a day") == true)
        #expect(HistoryResample.refusal([.minute, BarInterval(label: "60s")!])?.hasPrefix("1min is given twice") == true)
    }

    @Test func badSymbolsAndMissingInputAreErrors() throws {
        let raw = temporaryDirectory("raw")
        defer { try? FileManager.default.removeItem(atPath: raw) }
        let resample = HistoryResample(inputDirectory: raw, outputDirectory: raw, intervals: [.minute])
        #expect(throws: FileProblem.self) { try resample.run(symbol: "../etc") }
        #expect(throws: FileProblem.self) { try resample.run(symbol: "NONE") }
    }
}
