import TickBusCore

/// Rows of one table collected column by column, each column straight into its own reusable
/// byte buffer in q's wire form, so a flush is a header plus one copy per column and appending
/// a row allocates nothing. The `time` column is not stored: a tickerplant stamps it (tick.q's
/// `.u.upd`), and ``encodeTable(time:into:)`` fills it with one value per batch as tick.q does.
public final class TickBatch {
    public let table: TickTable
    /// Whether this batch holds HISTORICAL records (sent to `<table>Hist` when kept apart).
    public let historical: Bool
    public private(set) var rows = 0
    /// Column storage for every column but `time`, in schema order: plain memory behind a
    /// pointer, so the per-row appends do no reference counting and no exclusivity checks.
    private let columns: UnsafeMutablePointer<ByteStorage>
    private let columnCount: Int
    /// The type byte of each stored column (0 for a general list).
    private let typeBytes: [UInt8]
    private let names: [String]

    public init(table: TickTable, historical: Bool = false, capacity: Int = 1024) {
        self.table = table
        self.historical = historical
        let cols = table.columns.dropFirst()
        names = table.columns.map(\.name)
        typeBytes = cols.map { UInt8(bitPattern: $0.type?.rawValue ?? 0) }
        columnCount = cols.count
        columns = .allocate(capacity: cols.count)
        for (i, col) in cols.enumerated() {
            let width = col.type?.storage.width ?? (col.type == .symbol ? 8 : 16)
            (columns + i).initialize(to: ByteStorage(capacity: max(64, capacity * width)))
        }
    }

    deinit {
        for i in 0..<columnCount { columns[i].deallocate() }
        columns.deallocate()
    }

    /// The table name the batch goes to.
    public var name: String { table.name(historical: historical) }

    /// Forgets the rows, keeps the memory.
    public func removeAll() {
        rows = 0
        for i in 0..<columnCount { columns[i].count = 0 }
    }

    @inline(__always)
    private func price(_ p: Price) -> Double { p.isNull ? KNull.float : p.doubleValue }

    @inline(__always)
    private func appendHead(_ header: RecordHeader) {
        columns[0].appendSymbol(header.symbol)
        columns[1].append(KEpoch.timestamp(unixNanoseconds: header.tsEvent))
        columns[2].append(KEpoch.timestamp(unixNanoseconds: header.tsRecv))
    }

    /// Appends a trade row (the batch must be a trade batch).
    @inline(__always)
    public func append(_ t: Trade) {
        precondition(table == .trade)
        appendHead(t.header)
        columns[3].append(price(t.price))
        columns[4].append(t.size)
        columns[5].append(Int16(truncatingIfNeeded: t.exchange))
        columns[6].append(Int16(t.tape))
        columns[7].appendShortVector(packed: t.conditions.packed, count: t.conditions.count)
        columns[8].appendCharVector(t.tradeID)
        columns[9].append(t.upstreamSequence)
        rows += 1
    }

    /// Appends a quote row.
    @inline(__always)
    public func append(_ q: Quote) {
        precondition(table == .quote)
        appendHead(q.header)
        columns[3].append(price(q.bidPrice))
        columns[4].append(price(q.askPrice))
        columns[5].append(q.bidSize)
        columns[6].append(q.askSize)
        columns[7].append(Int16(truncatingIfNeeded: q.bidExchange))
        columns[8].append(Int16(truncatingIfNeeded: q.askExchange))
        columns[9].append(Int16(truncatingIfNeeded: q.condition))
        columns[10].append(Int16(q.tape))
        columns[11].append(q.upstreamSequence)
        rows += 1
    }

    /// Appends a bar row; `source` is the bar's topic kind (`A`, `AM`, `B1m`, ...).
    public func append(_ b: Bar, source: FixedString) {
        precondition(table == .bar)
        appendHead(b.header)
        columns[3].append(b.interval.nanoseconds)
        columns[4].appendSymbol(source)
        columns[5].append(price(b.open))
        columns[6].append(price(b.high))
        columns[7].append(price(b.low))
        columns[8].append(price(b.close))
        columns[9].append(b.volume)
        columns[10].append(price(b.vwap))
        columns[11].append(Int64(truncatingIfNeeded: b.tradeCount))
        columns[12].append(UInt8(b.header.flags.contains(.revision) ? 1 : 0))
        rows += 1
    }

    /// Writes the columns after `time` as a general list of vectors.
    private func writeColumns(into out: KBuffer, time: Int64?) {
        out.append(UInt16(0))
        out.append(Int32(columnCount + (time == nil ? 0 : 1)))
        if let time {
            out.reserve(6 + 8 * rows)
            out.appendUnchecked(UInt16(KType.timespan.rawValue))
            out.appendUnchecked(Int32(rows))
            for _ in 0..<rows { out.appendUnchecked(time) }
        }
        for i in 0..<columnCount {
            out.reserve(6)
            out.appendUnchecked(typeBytes[i])
            out.appendUnchecked(UInt8(0))
            out.appendUnchecked(Int32(rows))
            out.append(bytes: columns[i].bytes)
        }
    }

    private static let updName = Array(".u.upd".utf8)
    private static let pushName = Array("upd".utf8) + [0]

    /// Appends the async message a feed handler sends, ``(".u.upd";`trade;(sym;eventTime;...))``:
    /// every column but `time`, which the tickerplant prepends (tick.q does so when the first
    /// column is not a timespan).
    public func encodeUpd(into out: KBuffer) {
        let start = out.count
        KMessage.writeHeader(type: .async, into: out)
        out.append(UInt16(0))
        out.append(Int32(3))
        out.append(UInt16(10))
        out.append(Int32(6))
        out.append(TickBatch.updName)
        out.append(UInt8(0xF5))
        try! KWriter.writeCString(name, into: out)  // a table name holds no NUL
        writeColumns(into: out, time: nil)
        try! KMessage.patchLength(from: start, in: out)
    }

    /// Appends the async message a tickerplant pushes to subscribers, ``(`upd;`trade;table)``,
    /// with `time` (a timespan, the same for every row) first.
    public func encodeTable(time: Int64, into out: KBuffer) {
        let start = out.count
        KMessage.writeHeader(type: .async, into: out)
        out.append(UInt16(0))
        out.append(Int32(3))
        out.append(UInt8(0xF5))
        out.append(TickBatch.pushName)
        out.append(UInt8(0xF5))
        try! KWriter.writeCString(name, into: out)
        out.append(UInt16(0x62))  // table, no attribute
        out.append(UInt8(99))
        try! KWriter.write(.symbols(names), into: out)
        writeColumns(into: out, time: time)
        try! KMessage.patchLength(from: start, in: out)
    }
}

/// Column appends in q's wire form.
extension ByteStorage {
    /// A symbol's bytes and its NUL.
    @inline(__always)
    mutating func appendSymbol(_ s: FixedString) {
        reserve(FixedString.capacity + 1)
        let n = s.write(into: UnsafeMutableRawBufferPointer(start: base + count, count: FixedString.capacity + 1), at: 0)
        base.storeBytes(of: UInt8(0), toByteOffset: count + n, as: UInt8.self)
        count += n + 1
    }

    /// A char vector object (`0a 00 count bytes`).
    @inline(__always)
    mutating func appendCharVector(_ s: FixedString) {
        reserve(6 + FixedString.capacity)
        base.storeBytes(of: UInt16(10).littleEndian, toByteOffset: count, as: UInt16.self)
        let n = s.write(into: UnsafeMutableRawBufferPointer(start: base + count + 6, count: FixedString.capacity), at: 0)
        base.storeBytes(of: Int32(n).littleEndian, toByteOffset: count + 2, as: Int32.self)
        count += 6 + n
    }

    /// A short vector object of up to four codes packed 16 bits each.
    @inline(__always)
    mutating func appendShortVector(packed: UInt64, count n: Int) {
        reserve(6 + 8)
        base.storeBytes(of: UInt16(5).littleEndian, toByteOffset: count, as: UInt16.self)
        base.storeBytes(of: Int32(n).littleEndian, toByteOffset: count + 2, as: Int32.self)
        base.storeBytes(of: packed.littleEndian, toByteOffset: count + 6, as: UInt64.self)
        count += 6 + 2 * n
    }
}
