/// Why bytes could not be decoded as q IPC, or a value could not be encoded.
public enum KError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended before the object or message did.
    case truncated
    /// A type byte the codec does not know (or that never travels, like an enumeration).
    case unknownType(Int8)
    /// An attribute byte outside 0...4.
    case badAttribute(UInt8)
    /// The header's length field is impossible (below 8, or above the configured limit).
    case badLength(Int)
    /// Bytes left over after the object the header announced.
    case trailingBytes(Int)
    /// Objects nested deeper than the decoder allows.
    case tooDeep
    /// A negative count.
    case badCount(Int32)
    /// The header's architecture, message type or compression byte is invalid.
    case badHeader(String)
    /// A compressed payload that does not decompress to its announced length.
    case badCompression
    /// A table or dictionary whose parts do not fit together.
    case malformed(String)
    /// A value that cannot be encoded (a NUL inside a symbol, mismatched storage, ...).
    case invalidValue(String)

    public var description: String {
        switch self {
        case .truncated: "truncated message"
        case .unknownType(let t): "unknown type \(t)"
        case .badAttribute(let a): "bad attribute byte \(a)"
        case .badLength(let n): "bad message length \(n)"
        case .trailingBytes(let n): "\(n) trailing bytes"
        case .tooDeep: "objects nested too deep"
        case .badCount(let n): "negative count \(n)"
        case .badHeader(let s): "bad header: \(s)"
        case .badCompression: "bad compressed payload"
        case .malformed(let s): "malformed object: \(s)"
        case .invalidValue(let s): "cannot encode: \(s)"
        }
    }
}
