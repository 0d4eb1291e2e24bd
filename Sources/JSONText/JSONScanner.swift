/// Byte-level scanning of JSON text, enough to walk Massive's frames: arrays of flat objects
/// whose values are numbers, strings, booleans, null or small arrays. No Foundation, no
/// allocation: values are reported as byte ranges into the frame.
public struct JSONScanner {
    public let bytes: UnsafeRawBufferPointer
    public var index = 0

    @inlinable public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// The kind of a scanned value.
    public enum Kind: UInt8, Sendable {
        case string, number, array, object, bool, null
    }

    /// Why a frame is not JSON we can walk.
    public struct Malformed: Error {
        @inlinable public init() {}
    }

    @inlinable public var atEnd: Bool { index >= bytes.count }

    @inlinable @inline(__always)
    public mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// The next non-space byte, not consumed (0 at the end).
    @inlinable @inline(__always)
    public mutating func peek() -> UInt8 {
        skipWhitespace()
        return index < bytes.count ? bytes[index] : 0
    }

    /// Consumes `byte` after optional whitespace, or fails.
    @inlinable @inline(__always)
    public mutating func expect(_ byte: UInt8) throws(Malformed) {
        guard peek() == byte else { throw Malformed() }
        index += 1
    }

    /// Consumes `byte` if it is next; says whether it was.
    @inlinable @inline(__always)
    public mutating func consume(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        index += 1
        return true
    }

    /// Scans a string starting at `"`; returns the range between the quotes and whether it
    /// holds escapes.
    @inlinable @inline(__always)
    public mutating func string() throws(Malformed) -> (start: Int, end: Int, escaped: Bool) {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw Malformed() }
        index += 1
        let start = index
        var escaped = false
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                index += 1
                return (start, index - 1, escaped)
            }
            if b == UInt8(ascii: "\\") {
                escaped = true
                index += 1
            } else if b < 0x20 {
                throw Malformed()
            }
            index += 1
        }
        throw Malformed()
    }

    /// Scans any value; returns its kind and range (strings without their quotes).
    @inlinable
    public mutating func value() throws(Malformed) -> (kind: Kind, start: Int, end: Int, escaped: Bool) {
        switch peek() {
        case UInt8(ascii: "\""):
            let s = try string()
            return (.string, s.start, s.end, s.escaped)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = index
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"),
                     UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"):
                    index += 1
                default:
                    return (.number, start, index, false)
                }
            }
            return (.number, start, index, false)
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            let start = index
            let kind: Kind = bytes[index] == UInt8(ascii: "[") ? .array : .object
            try skipContainer()
            return (kind, start, index, false)
        case UInt8(ascii: "t"): return try literal("true", .bool)
        case UInt8(ascii: "f"): return try literal("false", .bool)
        case UInt8(ascii: "n"): return try literal("null", .null)
        default: throw Malformed()
        }
    }

    @usableFromInline
    mutating func literal(_ word: StaticString, _ kind: Kind) throws(Malformed) -> (kind: Kind, start: Int, end: Int, escaped: Bool) {
        let start = index
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw Malformed() }
        for i in 0..<count where bytes[index + i] != word.utf8Start[i] { throw Malformed() }
        index += count
        return (kind, start, index, false)
    }

    /// Skips an array or object, nested to any depth, minding strings.
    @usableFromInline
    mutating func skipContainer() throws(Malformed) {
        var depth = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                index += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
                index += 1
                if depth == 0 { return }
            case UInt8(ascii: "\""):
                _ = try string()
            default:
                index += 1
            }
        }
        throw Malformed()
    }

    /// Skips past the end of the current object (after a value that could not be read).
    @inlinable
    public mutating func recover() {
        var depth = 1
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { index += 1; return }
            case UInt8(ascii: "\""):
                if (try? string()) == nil { index = bytes.count }
                continue
            default: break
            }
            index += 1
        }
    }
}
