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

    /// Why `intervals` cannot be resampled as pandas does, or nil: a length that does not
    /// divide a day (pandas aligns it to the first midnight of each file, so a bucket would
    /// cross a month end and land in both files), or two of the same length (`1m,1min`).
    public static func refusal(_ intervals: [BarInterval]) -> String? {
        var labels = Set<String>()
        for interval in intervals {
            let label = ArchivePath.label(interval)
            guard 86_400 % interval.seconds == 0 else {
                return "\(label) does not divide a day: its buckets would cross midnight and month ends; "
                    + "use a length that divides 24 hours (15s, 1min, 5min, 1h, 1d, ...)"
            }
            guard labels.insert(label).inserted else {
                return "\(label) is given twice (1m and 1min, or 60s and 1min, are the same length): give each length once"
            }
        }
        return nil
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
        var outputs: [AtomicFile] = []
        var written = [Int](repeating: 0, count: intervals.count)
        let rows = try aggregate(month) { () throws(FileProblem) in
            // The files of a pass started again go first: the new ones take their temporary names.
            outputs = []
            do throws(FileError) {
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
            written = [Int](repeating: 0, count: intervals.count)
        } row: { (i, _, format) throws(FileError) in
            written[i] += 1
            try outputs[i].write(format)
        }
        do {
            for output in outputs { try output.commit() }
        } catch {
            throw FileProblem(error.path, 0, error.description)
        }
        return (rows, written)
    }

    /// The rows of the first interval that `month` resamples to, by start, as the bytes
    /// ``resample(_:)`` writes (without the newline).
    public func lines(_ month: BarsFile) throws(FileProblem) -> [Int64: [UInt8]] {
        var lines: [Int64: [UInt8]] = [:]
        _ = try aggregate(month) { () throws(FileProblem) in lines = [:] } row: { (i, start, format) throws(FileError) in
            guard i == 0 else { return }
            var line: [UInt8] = []
            format(&line)
            lines[start] = line.dropLast()
        }
        return lines
    }

    /// Resamples `month` as pandas does, column types included: a first pass assumes what
    /// tickbus writes (float prices, integer volumes) and is redone, after `begin()` again,
    /// once the month shows other types (a float volume, an integer price column without
    /// empty buckets). `row(i, start, format)` gets each bucket of `intervals[i]`; `format`
    /// appends its CSV line. Returns the rows read.
    private func aggregate(
        _ month: BarsFile, begin: () throws(FileProblem) -> Void,
        row: (Int, Int64, (inout [UInt8]) -> Void) throws(FileError) -> Void
    ) throws(FileProblem) -> Int {
        var input = BarCSV.defaultColumns
        var output = [BarColumns](repeating: input, count: intervals.count)
        // Each pass learns the volume's type or the output's: three passes at most.
        for _ in 0..<3 {
            try begin()
            let pass = try stream(month, input: input) { (i, bar, volume) throws(FileError) in
                let columns = output[i]
                try row(i, bar.start) { out in
                    var time = CSVTimeFormatter()
                    BarCSV.append(start: bar.start, open: bar.open, high: bar.high, low: bar.low, close: bar.close,
                                  volume: volume, columns: columns, to: &out, time: &time)
                }
            }
            guard let pass else {
                input.insert(.volume)
                output = output.map { $0.union(.volume) }
                continue
            }
            let needed = pass.emptyBuckets.map { pass.floats.resampled(withEmptyBuckets: $0) }
            if needed == output { return pass.rows }
            input = pass.floats
            output = needed
        }
        throw FileProblem(month.path, 0, "the column types did not settle in three passes")
    }

    /// What a whole pass over a month found.
    fileprivate struct Pass {
        var rows = 0
        /// The input columns written as floats somewhere in the month.
        var floats: BarColumns = []
        /// Per interval: whether a bucket between the first and the last has no input.
        var emptyBuckets: [Bool]
    }

    /// Streams one month file through a ``Resampler``; `emit(i, bar, volume)` gets each bucket
    /// of `intervals[i]` with its volume summed as pandas sums the `input` type. Returns nil,
    /// early, at the first float volume when `input` has integer volumes.
    private func stream(
        _ month: BarsFile, input: BarColumns, emit: (Int, BarAccumulator, BarVolume) throws(FileError) -> Void
    ) throws(FileProblem) -> Pass? {
        var resampler = Resampler(intervals: intervals)
        let floatVolume = input.contains(.volume)
        var state = PassState(intervals: intervals, floatVolume: floatVolume)
        var days = BarCSV.DayCache()
        var sawHeader = false
        do {
            let reader = try LineReader(path: month.path)
            try reader.forEachLine { (line, number) throws(PassStop) in
                if number == 1 {
                    sawHeader = true
                    do throws(BarCSVError) { try BarCSV.checkHeader(line) } catch {
                        throw .problem(FileProblem(month.path, 1, error.description))
                    }
                    return
                }
                if line.isEmpty { return }
                do {
                    let parsed = try BarCSV.parseLine(line, cache: &days)
                    state.pass.floats.formUnion(parsed.floats)
                    if !floatVolume, parsed.floats.contains(.volume) { throw PassStop.floatVolume }
                    state.pass.rows += 1
                    let row = parsed.row
                    // Volumes are summed below, as pandas sums their type; the resampler's sum is unused.
                    try resampler.add(start: row.start, open: row.open, high: row.high, low: row.low, close: row.close,
                                      volume: 0) { i, bar in try state.close(i, bar, emit) }
                    for i in state.volumes.indices where !state.volumes[i].add(parsed.volume) {
                        throw PassStop.problem(FileProblem(month.path, number, "the volume of the \(ArchivePath.label(intervals[i])) "
                            + "bucket passes int64 here (pandas would wrap it around to a wrong sum)"))
                    }
                } catch let error as PassStop {
                    throw error
                } catch let error as FileError {
                    throw .problem(FileProblem(error.path, 0, error.description))
                } catch {
                    throw .problem(FileProblem(month.path, number, "\(error)"))
                }
            }
            guard sawHeader else { throw FileProblem(month.path, 1, "the file is empty: no header \(BarCSV.header)") }
            try resampler.finish { i, bar in try state.close(i, bar, emit) }
        } catch let error as LineReaderError<PassStop> {
            switch error {
            case .file(let e): throw FileProblem(e.path, 0, e.description)
            case .body(.floatVolume): return nil
            case .body(.problem(let problem)): throw problem
            }
        } catch let error as FileError {
            throw FileProblem(error.path, 0, error.description)
        } catch let error as FileProblem {
            throw error
        } catch {
            throw FileProblem(month.path, 0, "\(error)")
        }
        return state.pass
    }
}

/// A pass's sums and what it learns, in one value so that the closures of the read loop
/// share one capture.
private struct PassState {
    var pass: HistoryResample.Pass
    var volumes: [VolumeSum]
    /// The start of each interval's last bucket.
    var lastStart: [Int64?]
    let widths: [Int64]

    init(intervals: [BarInterval], floatVolume: Bool) {
        pass = HistoryResample.Pass(emptyBuckets: [Bool](repeating: false, count: intervals.count))
        volumes = [VolumeSum](repeating: VolumeSum(float: floatVolume), count: intervals.count)
        lastStart = [Int64?](repeating: nil, count: intervals.count)
        widths = intervals.map(\.nanoseconds)
    }

    /// Hands on a closed bucket of interval `i` with its volume sum.
    @inline(__always)
    mutating func close(
        _ i: Int, _ bar: BarAccumulator, _ emit: (Int, BarAccumulator, BarVolume) throws(FileError) -> Void
    ) throws(FileError) {
        if let last = lastStart[i], bar.start != last + widths[i] { pass.emptyBuckets[i] = true }
        lastStart[i] = bar.start
        try emit(i, bar, volumes[i].take())
    }
}

/// Why a pass over a month stops early.
private enum PassStop: Error {
    /// A float volume in a pass that assumed integer ones: the pass starts again.
    case floatVolume
    case problem(FileProblem)
}

/// One bucket's volume, summed as pandas sums its column: an int64 column exactly, a float64
/// one as `numpy.add.reduceat` does (the first value plus numpy's pairwise sum of the rest),
/// which pandas 3 uses for sorted groups.
struct VolumeSum {
    /// Whether the column is float64: integer volumes in it are converted, as pandas does.
    private let isFloat: Bool
    private var integer: Int64 = 0
    /// The bucket's volumes as doubles, kept for the pairwise sum (the buffer is reused).
    private var floats: [Double] = []

    init(float: Bool) { isFloat = float }

    /// Adds one volume; false when an integer sum passes int64.
    @inline(__always)
    mutating func add(_ volume: BarVolume) -> Bool {
        switch volume {
        case .integer(let value) where isFloat:
            floats.append(Double(value))
        case .integer(let value):
            let (sum, overflow) = integer.addingReportingOverflow(value)
            integer = sum
            return !overflow
        case .float(let value):
            floats.append(value)
        }
        return true
    }

    /// The sum, and a fresh start for the next bucket.
    mutating func take() -> BarVolume {
        defer {
            integer = 0
            floats.removeAll(keepingCapacity: true)
        }
        guard isFloat else { return .integer(integer) }
        return .float(floats.withUnsafeBufferPointer { values in
            values.count == 1 ? values[0] : values[0] + VolumeSum.pairwise(UnsafeBufferPointer(rebasing: values[1...]))
        })
    }

    /// numpy's `pairwise_sum`: blocks of up to 128 values in eight running sums, halves above.
    static func pairwise(_ a: UnsafeBufferPointer<Double>) -> Double {
        let n = a.count
        if n < 8 {
            var sum = 0.0
            for value in a { sum += value }
            return sum
        }
        if n <= 128 {
            var r = (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7])
            var i = 8
            while i < n - n % 8 {
                r.0 += a[i]; r.1 += a[i + 1]; r.2 += a[i + 2]; r.3 += a[i + 3]
                r.4 += a[i + 4]; r.5 += a[i + 5]; r.6 += a[i + 6]; r.7 += a[i + 7]
                i += 8
            }
            var sum = ((r.0 + r.1) + (r.2 + r.3)) + ((r.4 + r.5) + (r.6 + r.7))
            while i < n {
                sum += a[i]
                i += 1
            }
            return sum
        }
        var half = n / 2
        half -= half % 8
        return pairwise(UnsafeBufferPointer(rebasing: a[..<half])) + pairwise(UnsafeBufferPointer(rebasing: a[half...]))
    }
}
