import Archive
import Foundation
import History
import Testing
import TickBusCore

@Suite struct HistoryValidateTests {
    typealias Check = HistoryValidate.Check

    /// Good 1-minute files from random raw bars; `body` gets (raw dir, 1min dir).
    func withGoodFiles(_ body: (String, String) throws -> Void) throws {
        let raw = temporaryDirectory("raw"), out = temporaryDirectory("agg")
        defer { for d in [raw, out] { try? FileManager.default.removeItem(atPath: d) } }
        try writeRandomSecondBars(raw, symbol: "SPY", year: 2024, month: 1, days: 2...2, seed: 9)
        _ = try HistoryResample(inputDirectory: raw, outputDirectory: out, intervals: [.minute]).run(symbol: "SPY")
        try body(raw, "\(out)/1min")
    }

    @Test func goodFilesPassEveryCheck() throws {
        try withGoodFiles { raw, minutes in
            let report = HistoryValidate(inputDirectory: minutes, interval: .minute, rawDirectory: raw).run()
            #expect(report.ok, "\(report.examples)")
            #expect(report.files == 1 && report.rows == 390)
            let rawReport = HistoryValidate(inputDirectory: raw, interval: .second).run()
            #expect(rawReport.ok && rawReport.files == 1 && rawReport.rows > 10_000)
        }
    }

    /// One defect per check, injected into line 10 (or the header), found at its file:line.
    @Test(arguments: [
        (Check.header, 1, "ts_event,open,high,low,close,vol"),
        (.timestamp, 10, "2024-01-02T14:39:00+00:00,475.0,476.0,474.0,475.5,100"),
        (.utc, 10, "2024-01-02 14:39:00-05:00,475.0,476.0,474.0,475.5,100"),
        (.fields, 10, "2024-01-02 14:39:00+00:00,475.0,476.0,474.0,475.5"),
        (.empty, 10, "2024-01-02 14:39:00+00:00,475.0,,474.0,475.5,100"),
        (.empty, 10, "2024-01-02 14:39:00+00:00,475.0,476.0,474.0,475.5,NaN"),
        (.increasing, 10, "2024-01-02 14:30:00+00:00,475.0,476.0,474.0,475.5,100"),
        (.aligned, 10, "2024-01-02 14:38:30+00:00,475.0,476.0,474.0,475.5,100"),
        (.ohlc, 10, "2024-01-02 14:38:00+00:00,475.0,474.5,474.0,475.5,100"),
        (.volume, 10, "2024-01-02 14:38:00+00:00,475.0,476.0,474.0,475.5,-1"),
        (.month, 10, "2024-02-02 14:38:00+00:00,475.0,476.0,474.0,475.5,100"),
    ])
    func eachDefectIsCaught(_ check: Check, _ line: Int, _ text: String) throws {
        try withGoodFiles { _, minutes in
            let path = "\(minutes)/SPY_2024_01_1min.csv"
            var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
            lines[line - 1] = text
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let report = HistoryValidate(inputDirectory: minutes, interval: .minute).run()
            #expect(!report.ok)
            #expect(report.failures[check] ?? 0 >= 1, "\(report.failures)")
            #expect(report.examples[check]?.first?.line == line)
            #expect(report.examples[check]?.first?.path == path)
            // Only the injected defect (an out-of-order row also breaks the next one's order).
            #expect(Set(report.failures.keys).subtracting([.increasing, .ohlc, .month]).isSubset(of: [check]))
        }
    }

    @Test func aRowThatIsNotTheReaggregationOfTheRawBarsIsCaught() throws {
        try withGoodFiles { raw, minutes in
            let path = "\(minutes)/SPY_2024_01_1min.csv"
            var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
            var fields = lines[20].split(separator: ",").map(String.init)
            fields[5] = String(Int(fields[5])! + 1)
            lines[20] = fields.joined(separator: ",")
            lines.remove(at: 30)
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let report = HistoryValidate(inputDirectory: minutes, interval: .minute, rawDirectory: raw).run()
            #expect(report.failures == [.reaggregation: 2])
            #expect(report.examples[.reaggregation]?.first?.line == 21)
            #expect(report.examples[.reaggregation]?.last?.message.contains("which the raw bars have") == true)
            #expect(HistoryValidate(inputDirectory: minutes, interval: .minute).run().ok)
        }
    }

    /// An empty file and a byte order mark fail the header check, saying which; a column that
    /// mixes integers and floats, or a float not in pandas' form, fails `pandas_format`.
    @Test(arguments: [
        (Check.header, 1, "", "the file is empty"),
        (.header, 1, "\u{FEFF}ts_event,open,high,low,close,volume\n", "byte order mark"),
        (.format, 3, "ts_event,open,high,low,close,volume\n2024-01-02 14:30:00+00:00,1.0,1.0,1.0,1.0,5\n"
            + "2024-01-02 14:31:00+00:00,1.0,1.0,1.0,1.0,0.5\n", "volume mixes integers and floats"),
        (.format, 2, "ts_event,open,high,low,close,volume\n2024-01-02 14:30:00+00:00,0.00002344,1.0,1.0e-5,1.0,5\n",
         "pandas writes this row as 2024-01-02 14:30:00+00:00,2.344e-05,1.0,1e-05,1.0,5"),
    ])
    func fileLevelDefectsAreCaught(_ check: Check, _ line: Int, _ text: String, _ message: String) throws {
        let dir = temporaryDirectory("agg")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(text.utf8).write(to: URL(fileURLWithPath: "\(dir)/SPY_2024_01_1min.csv"))
        let report = HistoryValidate(inputDirectory: dir, interval: .minute).run()
        #expect(report.failures == [check: 1])
        #expect(report.examples[check]?.first?.line == line)
        #expect(report.examples[check]?.first?.message.contains(message) == true, "\(report.examples)")
    }

    @Test func noFilesIsNotAPass() {
        let dir = temporaryDirectory("none")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let report = HistoryValidate(inputDirectory: dir, interval: .minute).run()
        #expect(!report.ok)
        #expect(HistoryReportFormatter.text(report) == "no files: nothing checked")
    }

    @Test func jsonReportNamesEveryCheck() throws {
        try withGoodFiles { _, minutes in
            let json = HistoryReportFormatter.json(HistoryValidate(inputDirectory: minutes, interval: .minute).run())
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            #expect(object["ok"] as? Bool == true)
            #expect((object["failures"] as? [String: Int])?.count == Check.allCases.count)
        }
    }
}
