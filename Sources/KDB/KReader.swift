/// A bounds-checked reader of q objects over untrusted bytes. Every read checks the remaining
/// length first and every count is checked against the bytes left before anything is allocated,
/// so any input either decodes or throws; it never traps.
public struct KReader {
    /// The deepest nesting of lists, dictionaries and tables accepted.
    public static let maxDepth = 64

    let bytes: UnsafeRawBufferPointer
    public private(set) var position: Int
    let littleEndian: Bool
    private var depth = 0

    public init(_ bytes: UnsafeRawBufferPointer, littleEndian: Bool = true, position: Int = 0) {
        self.bytes = bytes
        self.littleEndian = littleEndian
        self.position = position
    }

    public var remaining: Int { bytes.count - position }

    @inline(__always)
    mutating func need(_ n: Int) throws(KError) {
        if n < 0 || n > bytes.count - position { throw .truncated }
    }

    @inline(__always)
    mutating func uint8() throws(KError) -> UInt8 {
        try need(1)
        defer { position += 1 }
        return bytes[position]
    }

    @inline(__always)
    mutating func integer<T: FixedWidthInteger>(_: T.Type) throws(KError) -> T {
        try need(MemoryLayout<T>.size)
        let raw = bytes.loadUnaligned(fromByteOffset: position, as: T.self)
        position += MemoryLayout<T>.size
        return littleEndian ? T(littleEndian: raw) : T(bigEndian: raw)
    }

    /// A NUL-terminated string (symbol atom, symbol vector item, error text, lambda context).
    mutating func cString() throws(KError) -> String {
        guard let end = bytes[position...].firstIndex(of: 0) else { throw .truncated }
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<end]), as: UTF8.self)
        position = end + 1
        return s
    }

    mutating func count() throws(KError) -> Int {
        let n = try integer(Int32.self)
        guard n >= 0 else { throw .badCount(n) }
        return Int(n)
    }

    mutating func attribute() throws(KError) -> KAttribute {
        let a = try uint8()
        guard let attribute = KAttribute(rawValue: a) else { throw .badAttribute(a) }
        return attribute
    }

    /// Reads one complete object.
    public mutating func readObject() throws(KError) -> KValue {
        depth += 1
        defer { depth -= 1 }
        guard depth <= KReader.maxDepth else { throw .tooDeep }
        let type = Int8(bitPattern: try uint8())
        switch type {
        case 0:
            let attr = try attribute()
            let n = try count()
            // Every object takes at least 2 bytes: check before reserving.
            guard n <= remaining / 2 else { throw .truncated }
            var items: [KValue] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try readObject()) }
            return .list(items, attribute: attr)
        case 1...19:
            guard let t = KType(code: type) else { throw .unknownType(type) }
            let attr = try attribute()
            return .vector(t, try column(t, count: try count()), attribute: attr)
        case -19 ... -1:
            guard let t = KType(code: -type) else { throw .unknownType(type) }
            return .atom(t, try scalar(t))
        case 98:
            let attr = try attribute()
            guard case .dictionary(let keys, let values, false) = try readObject(),
                case .vector(.symbol, .symbols(let names), _) = keys,
                case .list(let columns, _) = values, names.count == columns.count
            else { throw .malformed("a table is a dictionary of column names to a list of columns") }
            return .table(columns: names, values: columns, attribute: attr)
        case 99, 127:
            let keys = try readObject()
            let values = try readObject()
            return .dictionary(keys: keys, values: values, sorted: type == 127)
        case -128:
            return .error(try cString())
        case 100:
            let context = try cString()
            return .function(.lambda(context: context, source: try readObject()))
        case 101:
            let code = try uint8()
            return code == 0 ? .identity : .function(.primitive(type: type, code: code))
        case 102, 103:
            return .function(.primitive(type: type, code: try uint8()))
        case 104, 105:
            let n = try count()
            guard n <= remaining / 2 else { throw .truncated }
            var items: [KValue] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try readObject()) }
            return .function(.composite(type: type, items))
        case 106...111:
            return .function(.derived(type: type, try readObject()))
        default:
            throw .unknownType(type)
        }
    }

    mutating func scalar(_ t: KType) throws(KError) -> KScalar {
        switch t.storage {
        case .byte: return .integer(Int64(try uint8()))
        case .short: return .integer(Int64(try integer(Int16.self)))
        case .int: return .integer(Int64(try integer(Int32.self)))
        case .long: return .integer(try integer(Int64.self))
        case .real: return .real(Float(bitPattern: try integer(UInt32.self)))
        case .float: return .float(Double(bitPattern: try integer(UInt64.self)))
        case .symbol: return .symbol(try cString())
        case .guid:
            try need(16)
            defer { position += 16 }
            return .guid(Array(bytes[position..<position + 16]))
        }
    }

    mutating func column(_ t: KType, count n: Int) throws(KError) -> KColumn {
        if let width = t.storage.width {
            guard n <= remaining / width else { throw .truncated }
        }
        switch t.storage {
        case .byte:
            defer { position += n }
            return .bytes(Array(bytes[position..<position + n]))
        case .guid:
            var items: [[UInt8]] = []
            items.reserveCapacity(n)
            for i in 0..<n { items.append(Array(bytes[position + 16 * i..<position + 16 * i + 16])) }
            position += 16 * n
            return .guids(items)
        case .short: return .shorts(try fixed(Int16.self, n))
        case .int: return .ints(try fixed(Int32.self, n))
        case .long: return .longs(try fixed(Int64.self, n))
        case .real: return .reals(try fixed(UInt32.self, n).map { Float(bitPattern: $0) })
        case .float: return .floats(try fixed(UInt64.self, n).map { Double(bitPattern: $0) })
        case .symbol:
            guard n <= remaining else { throw .truncated }
            var items: [String] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try cString()) }
            return .symbols(items)
        }
    }

    mutating func fixed<T: FixedWidthInteger>(_: T.Type, _ n: Int) throws(KError) -> [T] {
        try need(n * MemoryLayout<T>.size)
        let start = position
        let le = littleEndian
        let result = [T](unsafeUninitializedCapacity: n) { buffer, initialized in
            for i in 0..<n {
                let raw = bytes.loadUnaligned(fromByteOffset: start + i * MemoryLayout<T>.size, as: T.self)
                buffer[i] = le ? T(littleEndian: raw) : T(bigEndian: raw)
            }
            initialized = n
        }
        position += n * MemoryLayout<T>.size
        return result
    }
}
