import Archive
import Bars
import Dispatch
import Synchronization
import TickBusCore

/// `tickbus history resample`: 1-second bar files → `aggregated/<label>/SYM_YYYY_MM_<label>.csv`
/// for every label, with the ``Resampler`` (the engine `tickbus bars` uses). A month is read
/// once for all labels, streamed through a fixed buffer, and each output written atomically.
public struct HistoryResample: Sendable {
    public struct Summary: Sendable, Equatable {
        public var files = 0
        public var rowsIn = 0
        /// Rows written, per label.
        public var rowsOut: [String: Int] = [:]
        /// Months that could not be resampled.
        public var problems: [FileProblem] = []
    }

    public let inputDirectory: String
    public let outputDirectory: String
    public let intervals: [BarInterval]

    public init(inputDirectory: String, outputDirectory: String, intervals: [BarInterval]) {
        self.inputDirectory = inputDirectory
        self.outputDirectory = outputDirectory
        self.intervals = intervals
    }

    /// Resamples every month of `symbol`, several at once; `progress` is told about each month
    /// done (one call at a time, in completion order).
    public func run(
        symbol: String, progress: @Sendable (BarsFile, Summary) -> Void = { _, _ in }
    ) throws(FileProblem) -> Summary {
        do {
            _ = try ArchivePath.validate(symbol: symbol)
        } catch {
            throw FileProblem(inputDirectory, 0, error.description)
        }
        let months = BarsFile.list(in: inputDirectory + "/" + symbol, symbol: symbol)
        guard !months.isEmpty else {
            throw FileProblem(inputDirectory + "/" + symbol, 0, "no SYM_YYYY_MM.csv files for \(symbol)")
        }
        // Months are independent (buckets never cross a month), so they run on all cores.
        let state = Mutex(Summary())
        DispatchQueue.concurrentPerform(iterations: months.count) { index in
            let month = months[index]
            let result = Result { () throws(FileProblem) in try resample(month) }
            state.withLock { summary in
                switch result {
                case .success(let (rowsIn, rowsOut)):
                    summary.files += 1
                    summary.rowsIn += rowsIn
                    for (i, interval) in intervals.enumerated() {
                        summary.rowsOut[ArchivePath.label(interval), default: 0] += rowsOut[i]
                    }
                case .failure(let problem):
                    summary.problems.append(problem)
                }
                progress(month, summary)
            }
        }
        var summary = state.withLock { $0 }
        summary.problems.sort { ($0.path, $0.line) < ($1.path, $1.line) }
        return summary
    }

    /// Resamples one month file into one file per label; returns rows read and written.
    public func resample(_ month: BarsFile) throws(FileProblem) -> (Int, [Int]) {
        let outputs: [AtomicFile]
        do {
            outputs = try intervals.map { interval throws(FileError) in
                let label = ArchivePath.label(interval)
                let file = try AtomicFile(
                    path: "\(outputDirectory)/\(label)/\(ArchivePath.aggregatedFile(month.symbol, month.year, month.month, interval))")
                try file.write(Array((BarCSV.header + "\n").utf8))
                return file
            }
        } catch {
            throw FileProblem(error.path, 0, error.description)
        }
        var written = [Int](repeating: 0, count: intervals.count)
        let rows = try stream(month) { (i, bar) throws(FileError) in
            written[i] += 1
            try outputs[i].write { out in BarCSV.append(BarRow(bar), to: &out) }
        }
        do {
            for output in outputs { try output.commit() }
        } catch {
            throw FileProblem(error.path, 0, error.description)
        }
        return (rows, written)
    }

    /// The bars of the first interval that `month` resamples to, in time order.
    public func read(_ month: BarsFile, each: (BarRow) -> Void) throws(FileProblem) {
        _ = try stream(month) { (i, bar) throws(FileError) in if i == 0 { each(BarRow(bar)) } }
    }

    /// Streams one month file through a ``Resampler``; `emit(i, bar)` gets each bucket of
    /// `intervals[i]`. Returns the rows read.
    private func stream(_ month: BarsFile, emit: (Int, BarAccumulator) throws(FileError) -> Void) throws(FileProblem) -> Int {
        var resampler = Resampler(intervals: intervals)
        var rows = 0
        var days = BarCSV.DayCache()
        do {
            let reader = try LineReader(path: month.path)
            try reader.forEachLine { (line, number) throws(FileProblem) in
                if number == 1 {
                    guard line.elementsEqual(BarCSV.header.utf8) else {
                        throw FileProblem(month.path, 1, "header is not \(BarCSV.header)")
                    }
                    return
                }
                if line.isEmpty { return }
                do {
                    let row = try BarCSV.parse(line, cache: &days)
                    rows += 1
                    try resampler.add(
                        start: row.start, open: row.open, high: row.high, low: row.low, close: row.close, volume: row.volume
                    ) { i, bar in try emit(i, bar) }
                } catch let error as FileError {
                    throw FileProblem(error.path, 0, error.description)
                } catch {
                    throw FileProblem(month.path, number, "\(error)")
                }
            }
            try resampler.finish { i, bar in try emit(i, bar) }
        } catch let error as LineReaderError<FileProblem> {
            switch error {
            case .file(let e): throw FileProblem(e.path, 0, e.description)
            case .body(let problem): throw problem
            }
        } catch let error as FileError {
            throw FileProblem(error.path, 0, error.description)
        } catch let error as FileProblem {
            throw error
        } catch {
            throw FileProblem(month.path, 0, "\(error)")
        }
        return rows
    }
}

extension BarRow {
    init(_ bar: BarAccumulator) {
        self.init(start: bar.start, open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: bar.volume)
    }
}
