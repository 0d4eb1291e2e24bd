import TickBusCore

/// Records → per-symbol monthly CSV files under a data directory (docs/archive.md).
///
/// ``add(_:)`` formats a record into the batch of its file (no I/O); ``flush(report:)`` writes
/// every batch (call it at least once a second and at shutdown). A file that cannot be written
/// keeps its rows and is retried at the next flush; when more than `maxBufferedRows` rows wait,
/// the oldest are dropped and counted. Not thread-safe: one thread owns a writer.
public final class ArchiveWriter {
    public struct Configuration: Sendable {
        public var directory: String
        /// Rows kept for files that cannot be written, in all; beyond it the oldest are dropped.
        public var maxBufferedRows: Int
        /// Files kept open; the least recently written are closed beyond it.
        public var maxOpenFiles: Int

        public init(directory: String = "data", maxBufferedRows: Int = 1_000_000, maxOpenFiles: Int = 256) {
            self.directory = directory
            self.maxBufferedRows = maxBufferedRows
            self.maxOpenFiles = maxOpenFiles
        }
    }

    public struct Counters: Sendable, Equatable {
        /// Rows written (a replaced bar row counts again).
        public var rows: UInt64 = 0
        /// Rows not written because the file (or the same batch) had the same row already.
        public var duplicates: UInt64 = 0
        /// Records refused because their symbol cannot name a file.
        public var refused: UInt64 = 0
        /// LATE bars (addenda to a bar already closed; not written).
        public var late: UInt64 = 0
        /// Rows dropped because files could not be written for too long.
        public var dropped: UInt64 = 0
        /// Failed writes (each retried).
        public var writeErrors: UInt64 = 0
        /// Torn last lines cut and journals replayed when files were opened.
        public var repairs: UInt64 = 0
        /// Rows waiting for the next flush.
        public var buffered: UInt64 = 0
        public var openFiles: UInt64 = 0

        public init() {}
    }

    /// Something a person should hear about (the service puts these on `S.archive`).
    public enum Event: Sendable, Equatable {
        case writeFailed(path: String, error: String, buffered: Int)
        case recovered(path: String)
        case repaired(path: String, bytes: Int64, journal: Bool)
        case refused(symbol: String, reason: String)
        case dropped(rows: Int)
    }

    public let configuration: Configuration
    public private(set) var counters = Counters()
    private var index: [FileKey: Int] = [:]
    private var slots: [Slot] = []
    private var refusedSymbols: Set<Symbol> = []
    /// Symbols refused since the last flush (reported once each).
    private var refusals: [Event] = []
    private var month = MonthCache()
    private var time = CSVTimeFormatter()
    private var clock: UInt64 = 0

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The file a record went to, to ask later whether it is written (``isWritten(_:)``).
    public struct FileID: Hashable, Sendable {
        let index: Int
    }

    /// Adds one record to its file's batch and returns that file; nil when it is not archived
    /// (status, heartbeat, a LATE bar, a refused symbol).
    @discardableResult
    public func add(_ record: Record) -> FileID? {
        let slot: Int
        switch record {
        case .trade(let trade):
            guard let s = self.slot(.trades, trade.header) else { return nil }
            slot = s
            slots[slot].batch.append(key: trade.header.tsEvent) { RecordCSV.append(trade, to: &$0, time: &time) }
        case .quote(let quote):
            guard let s = self.slot(.quotes, quote.header) else { return nil }
            slot = s
            slots[slot].batch.append(key: quote.header.tsEvent) { RecordCSV.append(quote, to: &$0, time: &time) }
        case .bar(let bar):
            if bar.header.flags.contains(.late) {
                counters.late += 1
                return nil
            }
            let tree: Tree = bar.header.flags.contains(.local) ? .aggregated(bar.interval) : .raw(bar.interval)
            guard let s = self.slot(tree, bar.header) else { return nil }
            slot = s
            let columns = ArchiveWriter.barColumns(bar.header.market)
            slots[slot].batch.append(key: bar.header.tsEvent) { BarCSV.append(BarRow(bar), columns: columns, to: &$0, time: &time) }
        case .status, .heartbeat:
            return nil
        }
        counters.buffered += 1
        return FileID(index: slot)
    }

    /// The float columns of a market's bar files, fixed so that rows appended one batch at a
    /// time never change a column's pandas type: crypto and forex volumes are fractional, so
    /// their volume column is always float (`1000.0`); other markets' volumes are integers.
    static func barColumns(_ market: Market) -> BarColumns {
        market == .crypto || market == .forex ? BarColumns.prices.union(.volume) : BarCSV.defaultColumns
    }

    /// Whether every row added to `file` is in the file (none waits in memory after a failed
    /// write).
    public func isWritten(_ file: FileID) -> Bool {
        slots[file.index].batch.isEmpty
    }

    /// Writes every waiting batch; `report` hears about failures, recoveries, repairs and drops.
    public func flush(report: (Event) -> Void) {
        clock += 1
        for event in refusals { report(event) }
        refusals.removeAll()
        var waiting = 0
        for i in slots.indices where !slots[i].batch.isEmpty {
            let file = slots[i].file
            let wasOpen = file.isOpen
            do {
                let (written, dropped) = try file.write(slots[i].batch)
                counters.rows += UInt64(written)
                counters.duplicates += UInt64(dropped)
                slots[i].batch.removeAll()
                slots[i].lastWrite = clock
                if slots[i].failing {
                    slots[i].failing = false
                    report(.recovered(path: file.path))
                }
            } catch {
                counters.writeErrors += 1
                file.close()
                if !slots[i].failing {
                    slots[i].failing = true
                    report(.writeFailed(path: file.path, error: error.description, buffered: slots[i].batch.count))
                }
                waiting += slots[i].batch.count
            }
            if !wasOpen, file.isOpen, file.repairedBytes > 0 || file.replayedJournal {
                counters.repairs += 1
                report(.repaired(path: file.path, bytes: file.repairedBytes, journal: file.replayedJournal))
            }
        }
        if waiting > configuration.maxBufferedRows { dropOldest(waiting - configuration.maxBufferedRows, report: report) }
        closeIdleFiles()
        counters.buffered = UInt64(slots.reduce(0) { $0 + $1.batch.count })
        counters.openFiles = UInt64(slots.count { $0.file.isOpen })
    }

    /// Closes every file (syncing it). Flush first.
    public func close() {
        for slot in slots { slot.file.close() }
        counters.openFiles = 0
    }

    // MARK: - Files

    /// Which tree of the data directory a record goes to.
    enum Tree: Hashable {
        case raw(BarInterval)
        case aggregated(BarInterval)
        case trades
        case quotes
    }

    struct FileKey: Hashable {
        var tree: Tree
        var symbol: Symbol
        var month: Int32
    }

    struct Slot {
        let file: SortedCSVFile
        var batch = CSVBatch()
        var failing = false
        var lastWrite: UInt64 = 0
    }

    /// The slot of a record's file, created on first use; nil (counted) for a refused symbol.
    @inline(__always)
    private func slot(_ tree: Tree, _ header: RecordHeader) -> Int? {
        let key = FileKey(tree: tree, symbol: header.symbol, month: month.index(of: header.tsEvent))
        if let slot = index[key] { return slot }
        return newSlot(key, header)
    }

    private func newSlot(_ key: FileKey, _ header: RecordHeader) -> Int? {
        let name: String
        do {
            name = try ArchivePath.validate(symbol: ArchivePath.fileName(forSymbol: header.symbol.description))
        } catch {
            counters.refused += 1
            if refusedSymbols.insert(header.symbol).inserted {
                refusals.append(.refused(symbol: header.symbol.description, reason: error.description))
            }
            return nil
        }
        let year = Int(key.month) / 12, month = Int(key.month) % 12 + 1
        let directory = configuration.directory
        let file: SortedCSVFile
        switch key.tree {
        case .raw(let interval):
            let stem = ArchivePath.monthStem(name, year, month)
            file = SortedCSVFile(path: "\(directory)/raw_\(ArchivePath.label(interval))/\(name)/\(stem).csv",
                                 header: BarCSV.header, rule: .replace)
        case .aggregated(let interval):
            let label = ArchivePath.label(interval)
            file = SortedCSVFile(path: "\(directory)/aggregated/\(label)/\(ArchivePath.aggregatedFile(name, year, month, interval))",
                                 header: BarCSV.header, rule: .replace)
        case .trades:
            file = SortedCSVFile(path: "\(directory)/trades/\(name)/\(ArchivePath.monthStem(name, year, month)).csv",
                                 header: RecordCSV.tradeHeader, rule: .dropIdentical)
        case .quotes:
            file = SortedCSVFile(path: "\(directory)/quotes/\(name)/\(ArchivePath.monthStem(name, year, month)).csv",
                                 header: RecordCSV.quoteHeader, rule: .dropIdentical)
        }
        slots.append(Slot(file: file))
        index[key] = slots.count - 1
        return slots.count - 1
    }

    /// Drops the oldest waiting rows of failing files, `count` in all.
    private func dropOldest(_ count: Int, report: (Event) -> Void) {
        var left = count
        for i in slots.indices where slots[i].failing && left > 0 {
            let n = min(left, slots[i].batch.count)
            slots[i].batch.removeFirst(n)
            left -= n
        }
        counters.dropped += UInt64(count - left)
        report(.dropped(rows: count - left))
    }

    /// Keeps at most `maxOpenFiles` open: closes those written least recently.
    private func closeIdleFiles() {
        let open = slots.indices.filter { slots[$0].file.isOpen }
        guard open.count > configuration.maxOpenFiles else { return }
        for i in open.sorted(by: { slots[$0].lastWrite < slots[$1].lastWrite }).prefix(open.count - configuration.maxOpenFiles) {
            slots[i].file.close()
        }
    }
}

/// The month (`year * 12 + month - 1`) of an instant, remembering the last day seen.
struct MonthCache {
    private var dayStart = Int64.max
    private var dayEnd = Int64.min
    private var month: Int32 = 0

    @inline(__always)
    mutating func index(of nanoseconds: Int64) -> Int32 {
        if nanoseconds >= dayStart && nanoseconds < dayEnd { return month }
        let day = nanoseconds.floorDivided(by: 86_400_000_000_000).0
        let (y, m, _) = UTCTime.civilDate(daysSinceEpoch: day)
        month = Int32(y * 12 + m - 1)
        dayStart = day * 86_400_000_000_000
        dayEnd = dayStart + 86_400_000_000_000
        return month
    }
}
