/// A q object, as decoded from or encoded to q IPC.
public indirect enum KValue: Hashable, Sendable {
    /// An atom of a simple type (type byte `-type`).
    case atom(KType, KScalar)
    /// A simple vector. The column's storage must match `type.storage`.
    case vector(KType, KColumn, attribute: KAttribute = .none)
    /// A general (mixed) list, type 0.
    case list([KValue], attribute: KAttribute = .none)
    /// A dictionary (99) or a sorted dictionary (127).
    case dictionary(keys: KValue, values: KValue, sorted: Bool = false)
    /// A table (98): column names and equal-length columns.
    case table(columns: [String], values: [KValue], attribute: KAttribute = .none)
    /// An error (-128), the payload of a failed sync request's response.
    case error(String)
    /// The generic null `::` (type 101, byte 0).
    case identity
    /// A function, kept so that messages carrying one can be decoded and re-encoded.
    case function(KFunction)

    // Convenience constructors for the types market data uses.
    public static func symbol(_ s: String) -> KValue { .atom(.symbol, .symbol(s)) }
    public static func long(_ v: Int64) -> KValue { .atom(.long, .integer(v)) }
    public static func int(_ v: Int32) -> KValue { .atom(.int, .integer(Int64(v))) }
    public static func float(_ v: Double) -> KValue { .atom(.float, .float(v)) }
    public static func boolean(_ v: Bool) -> KValue { .atom(.boolean, .integer(v ? 1 : 0)) }
    public static func timestamp(_ v: Int64) -> KValue { .atom(.timestamp, .integer(v)) }
    public static func date(_ v: Int32) -> KValue { .atom(.date, .integer(Int64(v))) }
    /// A char vector (q string).
    public static func string(_ s: String) -> KValue { .vector(.char, .bytes(Array(s.utf8))) }
    public static func symbols(_ s: [String], attribute: KAttribute = .none) -> KValue {
        .vector(.symbol, .symbols(s), attribute: attribute)
    }

    /// The text of a char vector or a symbol atom, nil for anything else.
    public var text: String? {
        switch self {
        case .vector(.char, .bytes(let b), _): String(decoding: b, as: UTF8.self)
        case .atom(.char, .integer(let c)): String(decoding: [UInt8(truncatingIfNeeded: c)], as: UTF8.self)
        case .atom(.symbol, .symbol(let s)): s
        default: nil
        }
    }

    /// The symbols of a symbol atom or vector, nil for anything else.
    public var symbolList: [String]? {
        switch self {
        case .atom(.symbol, .symbol(let s)): [s]
        case .vector(.symbol, .symbols(let s), _): s
        default: nil
        }
    }

    /// Number of items (1 for an atom, rows for a table).
    public var count: Int {
        switch self {
        case .vector(_, let c, _): c.count
        case .list(let l, _): l.count
        case .dictionary(let k, _, _): k.count
        case .table(_, let v, _): v.first?.count ?? 0
        default: 1
        }
    }
}

/// The value of an atom, by storage kind.
public enum KScalar: Hashable, Sendable {
    /// boolean, byte, char, short, int, long and every integer-based temporal type.
    case integer(Int64)
    case real(Float)
    /// float and datetime.
    case float(Double)
    case symbol(String)
    case guid([UInt8])
}

/// The items of a vector, by storage kind.
public enum KColumn: Hashable, Sendable {
    /// boolean, byte and char.
    case bytes([UInt8])
    case guids([[UInt8]])
    case shorts([Int16])
    /// int, month, date, minute, second, time.
    case ints([Int32])
    /// long, timestamp, timespan.
    case longs([Int64])
    case reals([Float])
    /// float and datetime.
    case floats([Double])
    case symbols([String])

    public var count: Int {
        switch self {
        case .bytes(let v): v.count
        case .guids(let v): v.count
        case .shorts(let v): v.count
        case .ints(let v): v.count
        case .longs(let v): v.count
        case .reals(let v): v.count
        case .floats(let v): v.count
        case .symbols(let v): v.count
        }
    }

    var storage: KStorage {
        switch self {
        case .bytes: .byte
        case .guids: .guid
        case .shorts: .short
        case .ints: .int
        case .longs: .long
        case .reals: .real
        case .floats: .float
        case .symbols: .symbol
        }
    }
}

/// A q function. Feed handlers never send these; the codec carries them only so that any
/// message q writes can be decoded.
public enum KFunction: Hashable, Sendable {
    /// 100: a lambda with its context name and source (a char vector).
    case lambda(context: String, source: KValue)
    /// 101–103: a primitive, operator or iterator, by its one-byte code (101 with code 0 is `::`,
    /// decoded as ``KValue/identity``).
    case primitive(type: Int8, code: UInt8)
    /// 104 projection, 105 composition: a list of objects.
    case composite(type: Int8, [KValue])
    /// 106–111: a derived function (each, over, scan, ...) of one object.
    case derived(type: Int8, KValue)
}
