/// Why bytes are not a valid record or bus message.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooShort(Int)
    case lengthMismatch(declared: Int, actual: Int)
    case unsupportedVersion(UInt8)
    case unknownKind(UInt8)
    case unknownMarket(UInt8)
    case unknownFlags(UInt8)
    case wrongSize(kind: RecordKind, expected: Int, actual: Int)
    case badField(String)
    /// A valid record of another kind where one kind was asked for.
    case unexpectedKind(RecordKind)
    case missingTopicSeparator
    case topicMismatch

    public var description: String {
        switch self {
        case .tooShort(let n): "record of \(n) bytes is shorter than the \(WireFormat.headerSize)-byte header"
        case .lengthMismatch(let d, let a): "length field says \(d) bytes but the record has \(a)"
        case .unsupportedVersion(let v): "unsupported wire format version \(v) (this build reads \(WireFormat.version))"
        case .unknownKind(let k): "unknown record kind \(k)"
        case .unknownMarket(let m): "unknown market \(m)"
        case .unknownFlags(let f): "unknown flag bits 0x\(String(f, radix: 16))"
        case .wrongSize(let k, let e, let a): "\(k.name) record must be \(e) bytes, not \(a)"
        case .badField(let f): "invalid \(f) field"
        case .unexpectedKind(let k): "a \(k.name) record where another kind was expected"
        case .missingTopicSeparator: "message has no space after its topic"
        case .topicMismatch: "message topic does not match its record"
        }
    }

    /// A short stable name for counting errors by cause.
    public var category: String {
        switch self {
        case .tooShort: "too_short"
        case .lengthMismatch: "length_mismatch"
        case .unsupportedVersion: "unsupported_version"
        case .unknownKind: "unknown_kind"
        case .unknownMarket: "unknown_market"
        case .unknownFlags: "unknown_flags"
        case .wrongSize: "wrong_size"
        case .badField: "bad_field"
        case .unexpectedKind: "unexpected_kind"
        case .missingTopicSeparator: "no_topic_separator"
        case .topicMismatch: "topic_mismatch"
        }
    }
}
