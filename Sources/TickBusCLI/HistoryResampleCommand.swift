import ArgumentParser
import Archive
import Foundation
import History
import TickBusCore

struct HistoryResampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resample",
        abstract: "1-second bar files → aggregated/<label>/SYM_YYYY_MM_<label>.csv (pandas' left-labelled, left-closed buckets).")

    @Option(help: "Symbols, comma-separated.") var symbol: String
    @Option(help: "Bar lengths, comma-separated: 15s,30s,1min,5min,1h,1d.") var timeframes = "15s,30s,1min"
    @Option(help: "Where the 1-second files are (SYM/SYM_YYYY_MM.csv).") var inputDir = "data/raw_1s"
    @Option(help: "Where <label>/SYM_YYYY_MM_<label>.csv go.") var outputDir = "data/aggregated"

    func run() throws {
        let intervals = try HistoryOptions.intervals(timeframes)
        let resample = HistoryResample(inputDirectory: inputDir, outputDirectory: outputDir, intervals: intervals)
        let terminal = isatty(STDOUT_FILENO) != 0
        var failed = false
        for symbol in HistoryOptions.symbols(symbol) {
            let started = Date()
            do {
                let summary = try resample.run(symbol: symbol) { month, summary in
                    guard terminal else { return }
                    print("\r\u{1B}[K\(symbol) \(ArchivePath.monthStem(symbol, month.year, month.month)): \(summary.files) months, \(summary.rowsIn) rows",
                          terminator: "")
                    fflush(nil)
                }
                if terminal { print("\r\u{1B}[K", terminator: "") }
                let outputs = intervals.map { "\(ArchivePath.label($0)) \(summary.rowsOut[ArchivePath.label($0)] ?? 0)" }
                print("\(symbol): \(summary.files) months, \(summary.rowsIn) rows in, out: \(outputs.joined(separator: ", ")) (\(String(format: "%.2f", Date().timeIntervalSince(started))) s)")
                for problem in summary.problems {
                    FileHandle.standardError.write(Data("tickbus history resample: \(problem)\n".utf8))
                    failed = true
                }
            } catch {
                FileHandle.standardError.write(Data("tickbus history resample: \(error)\n".utf8))
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}

struct HistoryValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check bar files: header, UTC timestamps, order, alignment, OHLC, volume, month; with raw data, re-aggregation.")

    @Option(help: "A directory of SYM_YYYY_MM_<label>.csv files (or data/raw_1s with --timeframe 1s).") var inputDir: String
    @Option(help: "The files' bar length: 1s, 15s, 1min, ...") var timeframe: String
    @Option(help: "The 1-second files (SYM/SYM_YYYY_MM.csv) to re-aggregate and compare with.") var rawDataDir: String?
    @Flag(help: "Print the report as JSON.") var json = false

    func run() throws {
        guard let interval = try HistoryOptions.intervals(timeframe).first else { throw ValidationError("--timeframe is empty") }
        let validate = HistoryValidate(inputDirectory: inputDir, interval: interval, rawDirectory: rawDataDir)
        let report = validate.run()
        print(json ? HistoryReportFormatter.json(report) : HistoryReportFormatter.text(report))
        guard report.files > 0 else {
            FileHandle.standardError.write(Data("tickbus history validate: no \(ArchivePath.label(interval)) files in \(inputDir)\n".utf8))
            throw ExitCode(1)
        }
        if !report.ok { throw ExitCode(1) }
    }
}

/// Option parsing shared by the history commands.
enum HistoryOptions {
    static func symbols(_ list: String) -> [String] {
        list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The bar lengths of a comma-separated list; refuses unknown labels, lengths that do not
    /// divide a day and a length given twice.
    static func intervals(_ list: String) throws -> [BarInterval] {
        let intervals = try list.split(separator: ",").map { label in
            let text = label.trimmingCharacters(in: .whitespaces)
            guard let interval = BarInterval(label: text) else {
                throw ValidationError("unknown timeframe \"\(text)\": use labels like 15s, 30s, 1min, 5min, 1h, 1d")
            }
            return interval
        }
        if let refusal = HistoryResample.refusal(intervals) { throw ValidationError(refusal) }
        return intervals
    }
}
