import Archive
import Bars
import Foundation
import TickBusCore

/// `tickbus history validate`: checks bar files for what downstream code relies on, and with
/// the raw 1-second files, that each row is their re-aggregation.
public struct HistoryValidate: Sendable {
    /// What is checked, in report order.
    public enum Check: String, Sendable, CaseIterable, Codable {
        case header
        case timestamp = "timestamp_format"
        case utc = "utc_offset"
        case fields = "field_count"
        case empty = "empty_or_nan"
        case format = "pandas_format"
        case increasing = "strictly_increasing"
        case aligned
        case ohlc = "low_le_open_close_le_high"
        case volume = "volume_non_negative"
        case month = "file_month"
        case reaggregation
    }

    /// The result of a run.
    public struct Report: Sendable {
        public var files = 0
        public var rows = 0
        public var failures: [Check: Int] = [:]
        /// The first few failures of each check.
        public var examples: [Check: [FileProblem]] = [:]
        /// No check failed, and there was a file to check.
        public var ok: Bool { failures.isEmpty && files > 0 }

        public static let examplesPerCheck = 5

        mutating func fail(_ check: Check, _ problem: FileProblem) {
            failures[check, default: 0] += 1
            if examples[check, default: []].count < Report.examplesPerCheck { examples[check, default: []].append(problem) }
        }
    }

    public let inputDirectory: String
    public let interval: BarInterval
    public let rawDirectory: String?

    public init(inputDirectory: String, interval: BarInterval, rawDirectory: String? = nil) {
        self.inputDirectory = inputDirectory
        self.interval = interval
        self.rawDirectory = rawDirectory
    }

    /// The files checked: `SYM_YYYY_MM_<label>.csv` in the directory, or for 1-second bars
    /// `SYM/SYM_YYYY_MM.csv` below it.
    public func files() -> [BarsFile] {
        let labelled = BarsFile.list(in: inputDirectory, suffix: "_" + ArchivePath.label(interval))
        if !labelled.isEmpty || interval != .second { return labelled }
        let direct = BarsFile.list(in: inputDirectory)
        if !direct.isEmpty { return direct }
        let symbols = (try? FileManager.default.contentsOfDirectory(atPath: inputDirectory)) ?? []
        return symbols.sorted().flatMap { BarsFile.list(in: inputDirectory + "/" + $0, symbol: $0) }
    }

    public func run() -> Report {
        var report = Report()
        for file in files() {
            report.files += 1
            check(file, &report)
        }
        return report
    }

    private func check(_ file: BarsFile, _ report: inout Report) {
        let expected = rawDirectory.map { reaggregate(file, $0, &report) } ?? nil
        var seen = Set<Int64>()
        var previous = Int64.min
        var columns: (BarColumns, line: Int)?
        var days = BarCSV.DayCache()
        var clock = CSVTimeFormatter()
        var formatted: [UInt8] = []
        let width = interval.nanoseconds
        let reader: LineReader
        do {
            reader = try LineReader(path: file.path)
        } catch {
            report.fail(.header, FileProblem(file.path, 0, error.description))
            return
        }
        var lines = 0
        do {
            try reader.forEachLine { (line, number) throws(Never) in
                lines = number
                if number == 1 {
                    do throws(BarCSVError) { try BarCSV.checkHeader(line) } catch {
                        report.fail(.header, FileProblem(file.path, 1, error.description))
                    }
                    return
                }
                report.rows += 1
                let parsed: BarLine
                do throws(BarCSVError) {
                    parsed = try BarCSV.parseLine(line, cache: &days)
                } catch {
                    let check: Check = switch error {
                    case .badTime: .timestamp
                    case .notUTC: .utc
                    case .fieldCount: .fields
                    case .empty, .badNumber, .outOfRange: .empty
                    case .tooPrecise, .negativeZero: .format
                    case .header, .byteOrderMark: .header
                    }
                    report.fail(check, FileProblem(file.path, number, error.description))
                    return
                }
                let row = parsed.row
                let time = UTCTime.iso8601(nanoseconds: row.start)
                formatted.removeAll(keepingCapacity: true)
                BarCSV.append(start: row.start, open: row.open, high: row.high, low: row.low, close: row.close,
                              volume: parsed.volume, columns: parsed.floats, to: &formatted, time: &clock)
                if !line.elementsEqual(formatted.dropLast()) {
                    report.fail(.format, FileProblem(file.path, number, "pandas writes this row as \(String(decoding: formatted.dropLast(), as: UTF8.self))"))
                }
                if let (first, at) = columns, first != parsed.floats {
                    let names = BarCSV.fields[1...].enumerated().filter { first.symmetricDifference(parsed.floats).contains(.field($0.offset)) }
                    report.fail(.format, FileProblem(file.path, number, "\(names.map(\.element).joined(separator: ", ")) mixes integers "
                        + "and floats (line \(at) differs): pandas reads the column as float64 and writes every value with a point"))
                } else if columns == nil {
                    columns = (parsed.floats, number)
                }
                if row.start <= previous {
                    report.fail(.increasing, FileProblem(file.path, number, "\(time) is not after the row before"))
                }
                previous = max(previous, row.start)
                if row.start % width != 0 {
                    report.fail(.aligned, FileProblem(file.path, number, "\(time) is not aligned to \(ArchivePath.label(interval))"))
                }
                if !(row.low <= row.open && row.low <= row.close && row.open <= row.high && row.close <= row.high) {
                    report.fail(.ohlc, FileProblem(file.path, number, "needs low ≤ open, close ≤ high: \(String(decoding: line, as: UTF8.self))"))
                }
                if row.volume < 0 { report.fail(.volume, FileProblem(file.path, number, "volume \(row.volume) < 0")) }
                let (year, month) = ArchivePath.month(of: row.start)
                if year != file.year || month != file.month {
                    report.fail(.month, FileProblem(file.path, number, "\(time) is not in \(file.year)-\(file.month)"))
                }
                if let expected {
                    seen.insert(row.start)
                    if let want = expected[row.start] {
                        if !line.elementsEqual(want) {
                            report.fail(.reaggregation, FileProblem(file.path, number,
                                "is \(String(decoding: line, as: UTF8.self)); the raw bars give \(String(decoding: want, as: UTF8.self))"))
                        }
                    } else {
                        report.fail(.reaggregation, FileProblem(file.path, number, "\(time) has no raw bars"))
                    }
                }
            }
        } catch {
            if case .file(let e) = error { report.fail(.header, FileProblem(file.path, 0, e.description)) }
            return
        }
        if lines == 0 { report.fail(.header, FileProblem(file.path, 1, "the file is empty: no header \(BarCSV.header)")) }
        for start in (expected ?? [:]).keys.sorted() where !seen.contains(start) {
            report.fail(.reaggregation, FileProblem(
                file.path, 0, "no row for \(UTCTime.iso8601(nanoseconds: start)), which the raw bars have"))
        }
    }

    /// The lines the raw 1-second file of the same month resamples to, by start.
    private func reaggregate(_ file: BarsFile, _ rawDirectory: String, _ report: inout Report) -> [Int64: [UInt8]]? {
        let raw = BarsFile(
            path: "\(rawDirectory)/\(file.symbol)/\(ArchivePath.monthStem(file.symbol, file.year, file.month)).csv",
            symbol: file.symbol, year: file.year, month: file.month)
        do {
            return try HistoryResample(inputDirectory: rawDirectory, outputDirectory: "", intervals: [interval]).lines(raw)
        } catch {
            report.fail(.reaggregation, FileProblem(file.path, 0, "cannot re-aggregate: \(error)"))
            return nil
        }
    }
}
