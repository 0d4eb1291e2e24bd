/// Rows waiting to be written to one CSV file: their bytes in one buffer, and per row its key
/// (the time it sorts by) and where its bytes are.
public struct CSVBatch: Sendable {
    public struct Row: Sendable {
        public var key: Int64
        var start: Int32
        var length: Int32
    }

    public private(set) var bytes: [UInt8] = []
    public private(set) var rows: [Row] = []
    /// Whether the rows are in key order as appended (then `bytes` is already the file's order).
    private var inOrder = true

    public init() {}

    public var isEmpty: Bool { rows.isEmpty }
    public var count: Int { rows.count }

    /// Appends one row: `build` appends its bytes, newline included, to the buffer.
    @inline(__always)
    public mutating func append(key: Int64, _ build: (inout [UInt8]) -> Void) {
        let start = bytes.count
        build(&bytes)
        if let last = rows.last, last.key > key { inOrder = false }
        rows.append(Row(key: key, start: Int32(start), length: Int32(bytes.count - start)))
    }

    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        rows.removeAll(keepingCapacity: true)
        inOrder = true
    }

    /// Drops the first `n` rows (the oldest arrivals).
    public mutating func removeFirst(_ n: Int) {
        guard n < rows.count else { return removeAll() }
        let cut = Int(rows[n].start)
        bytes.removeFirst(cut)
        rows.removeFirst(n)
        for i in rows.indices { rows[i].start -= Int32(cut) }
        inOrder = zip(rows, rows.dropFirst()).allSatisfy { $0.key <= $1.key }
    }

    /// The bytes of row `i`, newline included.
    func row(_ i: Int) -> ArraySlice<UInt8> {
        bytes[Int(rows[i].start)..<Int(rows[i].start + rows[i].length)]
    }

    /// The rows in key order (stable) with equal keys settled as `rule` says: the file's bytes
    /// for these rows, their keys, and how many rows were dropped as equal.
    func sorted(_ rule: EqualKeyRule) -> (bytes: [UInt8], keys: [Int64], dropped: Int) {
        var order = Array(rows.indices)
        if !inOrder { order.sort { rows[$0].key != rows[$1].key ? rows[$0].key < rows[$1].key : $0 < $1 } }
        var keep: [Int] = []
        keep.reserveCapacity(order.count)
        var groupStart = 0
        for i in order {
            if let last = keep.last, rows[last].key == rows[i].key {
                switch rule {
                case .replace:
                    keep[keep.count - 1] = i
                    continue
                case .dropIdentical:
                    if keep[groupStart...].contains(where: { rule.same(row($0), row(i)) }) { continue }
                }
            } else {
                groupStart = keep.count
            }
            keep.append(i)
        }
        if inOrder && keep.count == rows.count { return (bytes, rows.map(\.key), 0) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for i in keep { out.append(contentsOf: row(i)) }
        return (out, keep.map { rows[$0].key }, rows.count - keep.count)
    }
}

/// What happens when two rows of a file have the same key.
public enum EqualKeyRule: Sendable {
    /// One row per key: the newer replaces the older (bars: one row per bar start).
    case replace
    /// Rows with the same key are all kept, unless identical up to their last field (trades and
    /// quotes: the same event received twice differs only in `ts_recv`, which comes last).
    case dropIdentical

    func same(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Bool {
        switch self {
        case .replace: return true
        case .dropIdentical:
            guard let ca = a.lastIndex(of: UInt8(ascii: ",")), let cb = b.lastIndex(of: UInt8(ascii: ",")) else {
                return a.elementsEqual(b)
            }
            return a[..<ca].elementsEqual(b[..<cb])
        }
    }
}
