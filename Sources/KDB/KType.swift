/// A q type code as it appears in the first byte of an object: negative for atoms, positive for
/// vectors. Only the vector (positive) codes are stored here; an atom is `-code`.
public struct KType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int8
    public init(rawValue: Int8) { self.rawValue = rawValue }

    public static let boolean = KType(rawValue: 1)
    public static let guid = KType(rawValue: 2)
    public static let byte = KType(rawValue: 4)
    public static let short = KType(rawValue: 5)
    public static let int = KType(rawValue: 6)
    public static let long = KType(rawValue: 7)
    public static let real = KType(rawValue: 8)
    public static let float = KType(rawValue: 9)
    public static let char = KType(rawValue: 10)
    public static let symbol = KType(rawValue: 11)
    public static let timestamp = KType(rawValue: 12)
    public static let month = KType(rawValue: 13)
    public static let date = KType(rawValue: 14)
    public static let datetime = KType(rawValue: 15)
    public static let timespan = KType(rawValue: 16)
    public static let minute = KType(rawValue: 17)
    public static let second = KType(rawValue: 18)
    public static let time = KType(rawValue: 19)

    /// Whether `code` (1...19, 3 excluded) is a simple type.
    public init?(code: Int8) {
        guard code >= 1 && code <= 19 && code != 3 else { return nil }
        rawValue = code
    }

    /// How values of this type are stored.
    public var storage: KStorage {
        switch rawValue {
        case 1, 4, 10: .byte
        case 2: .guid
        case 5: .short
        case 6, 13, 14, 17, 18, 19: .int
        case 7, 12, 16: .long
        case 8: .real
        case 9, 15: .float
        default: .symbol
        }
    }

    /// q's type character (`b`, `j`, `p`, ...).
    public var character: Character {
        Array("bg xhijefcspmdznuvt")[Int(rawValue) - 1]
    }

    public var description: String { String(character) }
}

/// The in-memory representation shared by several q types (a date and an int are both Int32).
public enum KStorage: Sendable {
    case byte, guid, short, int, long, real, float, symbol

    /// Bytes per item on the wire; nil for symbols (variable).
    public var width: Int? {
        switch self {
        case .byte: 1
        case .guid: 16
        case .short: 2
        case .int, .real: 4
        case .long, .float: 8
        case .symbol: nil
        }
    }
}

/// The attribute byte of a vector, list or table.
public enum KAttribute: UInt8, Hashable, Sendable {
    case none = 0, sorted = 1, unique = 2, parted = 3, grouped = 4
}

/// q's null and infinity values, as they travel on the wire.
public enum KNull {
    public static let short = Int16.min
    public static let int = Int32.min
    public static let long = Int64.min
    public static let real = Float(bitPattern: 0x7FC0_0000)
    public static let float = Double(bitPattern: 0x7FF8_0000_0000_0000)
    public static let shortInfinity = Int16.max
    public static let intInfinity = Int32.max
    public static let longInfinity = Int64.max
}

/// The q epoch, 2000-01-01T00:00:00Z, as offsets from the Unix epoch.
public enum KEpoch {
    /// Seconds from 1970-01-01 to 2000-01-01.
    public static let unixSeconds: Int64 = 946_684_800
    /// Nanoseconds from 1970-01-01 to 2000-01-01.
    public static let unixNanoseconds: Int64 = 946_684_800_000_000_000
    /// Days from 1970-01-01 to 2000-01-01.
    public static let unixDays: Int32 = 10957

    /// A q timestamp (ns since 2000) from ns since the Unix epoch; `0Np` stays null.
    @inline(__always)
    public static func timestamp(unixNanoseconds ns: Int64) -> Int64 {
        ns == .min ? .min : ns &- unixNanoseconds
    }

    /// ns since the Unix epoch from a q timestamp.
    @inline(__always)
    public static func unixNanoseconds(timestamp: Int64) -> Int64 {
        timestamp == .min ? .min : timestamp &+ unixNanoseconds
    }
}
