/// Up to 24 bytes of printable ASCII stored inline (no allocation), NUL-padded on the wire.
/// Holds symbols (`AAPL`, `BRK.B`, `O:SPY251219C00650000`, `EUR/USD`) and trade ids.
public struct FixedString: Hashable, Sendable, Comparable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The field width on the wire.
    public static let capacity = 24

    // Little-endian words: byte i of the string is byte (i % 8) of word i / 8.
    private var w0: UInt64 = 0
    private var w1: UInt64 = 0
    private var w2: UInt64 = 0

    /// The empty string (all NUL).
    public init() {}

    /// Validates and stores `text`: 0–24 bytes of printable ASCII other than space.
    public init(_ text: some StringProtocol) throws(FixedStringError) {
        self = try Array(text.utf8).withUnsafeBytes { bytes in
            Result { () throws(FixedStringError) in try FixedString(ascii: bytes) }
        }.get()
    }

    public init(stringLiteral value: String) {
        do { try self.init(value) } catch { preconditionFailure("invalid FixedString literal \(value): \(error)") }
    }

    /// Validates and stores ASCII bytes; see ``init(_:)``.
    public init(ascii bytes: UnsafeRawBufferPointer) throws(FixedStringError) {
        guard bytes.count <= FixedString.capacity else { throw .tooLong(bytes.count) }
        for (i, byte) in bytes.enumerated() {
            guard byte > 0x20 && byte < 0x7F else { throw .invalidByte(byte) }
            setByte(i, byte)
        }
    }

    /// Reads a 24-byte NUL-padded wire field. Bytes after the first NUL must be NUL too.
    public init(field bytes: UnsafeRawBufferPointer) throws(FixedStringError) {
        precondition(bytes.count == FixedString.capacity)
        w0 = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian
        w1 = bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
        w2 = bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian
        let (nz0, ok0) = FixedString.classify(w0)
        let (nz1, ok1) = FixedString.classify(w1)
        let (nz2, ok2) = FixedString.classify(w2)
        // Every non-zero byte printable, and the non-zero bytes a prefix of the 24.
        let prefix = FixedString.isPrefix(nz0) && FixedString.isPrefix(nz1) && FixedString.isPrefix(nz2)
            && (nz0 == FixedString.highBits || nz1 | nz2 == 0) && (nz1 == FixedString.highBits || nz2 == 0)
        guard ok0 && ok1 && ok2 && prefix else { throw .invalidByte(firstInvalidByte(length: count)) }
    }

    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// For each byte of `word`, bit 7 of the result's byte is set when the byte is not zero;
    /// `printable` says whether every non-zero byte is in 0x21...0x7E. Eight bytes at a time,
    /// on the low seven bits so no addition carries into the next byte.
    @inline(__always)
    private static func classify(_ word: UInt64) -> (nonZero: UInt64, printable: Bool) {
        let low = word & 0x7F7F_7F7F_7F7F_7F7F
        let nonZero = ((low &+ 0x7F7F_7F7F_7F7F_7F7F) | word) & highBits
        let printable = ~word & (low &+ 0x5F5F_5F5F_5F5F_5F5F) & ~(low &+ 0x0101_0101_0101_0101) & highBits
        return (nonZero, printable == nonZero)
    }

    /// Whether the set bytes of a ``classify(_:)`` mask come before all the clear ones.
    @inline(__always)
    private static func isPrefix(_ nonZero: UInt64) -> Bool {
        let zeros = ~nonZero & highBits
        return zeros == 0 || nonZero < zeros & (0 &- zeros)
    }

    private func firstInvalidByte(length: Int) -> UInt8 {
        for i in 0..<FixedString.capacity {
            let b = byte(i)
            if i < length ? (b <= 0x20 || b >= 0x7F) : b != 0 { return b }
        }
        return 0
    }

    /// Writes the 24-byte NUL-padded field at `offset`.
    public func writeField(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        buffer.storeBytes(of: w0.littleEndian, toByteOffset: offset, as: UInt64.self)
        buffer.storeBytes(of: w1.littleEndian, toByteOffset: offset + 8, as: UInt64.self)
        buffer.storeBytes(of: w2.littleEndian, toByteOffset: offset + 16, as: UInt64.self)
    }

    /// The byte at `index` (0 past the end).
    @inline(__always)
    public func byte(_ index: Int) -> UInt8 {
        let word = index < 8 ? w0 : (index < 16 ? w1 : w2)
        return UInt8(truncatingIfNeeded: word >> UInt64((index & 7) * 8))
    }

    @inline(__always)
    private mutating func setByte(_ index: Int, _ byte: UInt8) {
        let shifted = UInt64(byte) << UInt64((index & 7) * 8)
        switch index >> 3 {
        case 0: w0 |= shifted
        case 1: w1 |= shifted
        default: w2 |= shifted
        }
    }

    /// A cheap 64-bit mix of the bytes, for hashing.
    @inline(__always)
    var fingerprint: UInt64 {
        (w0 &* 0x9E37_79B9_7F4A_7C15) ^ (w1 &* 0xC2B2_AE3D_27D4_EB4F).rotated(21) ^ (w2 &* 0x1656_67B1_9E37_79F9).rotated(42)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fingerprint)
    }

    /// Number of bytes before the padding (the first NUL).
    public var count: Int {
        if let n = FixedString.firstZeroByte(w0) { return n }
        if let n = FixedString.firstZeroByte(w1) { return 8 + n }
        if let n = FixedString.firstZeroByte(w2) { return 16 + n }
        return FixedString.capacity
    }

    /// The index of the lowest zero byte of `word`, if any.
    @inline(__always)
    private static func firstZeroByte(_ word: UInt64) -> Int? {
        let zeros = (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
        return zeros == 0 ? nil : zeros.trailingZeroBitCount / 8
    }

    public var isEmpty: Bool { w0 == 0 }

    /// Writes the bytes at `offset` and returns how many there are (without padding).
    /// `buffer` needs room for the whole 24-byte field at `offset`; bytes past the returned
    /// count are scratch.
    @inline(__always)
    public func write(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        writeField(into: buffer, at: offset)
        return count
    }

    public var description: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(FixedString.capacity)
        for i in 0..<count { bytes.append(byte(i)) }
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func < (lhs: FixedString, rhs: FixedString) -> Bool {
        lhs.description < rhs.description
    }
}

extension UInt64 {
    @inline(__always)
    func rotated(_ bits: UInt64) -> UInt64 { self << bits | self >> (64 - bits) }
}

/// A symbol as a record carries it.
public typealias Symbol = FixedString

/// Why text cannot be stored in a ``FixedString``.
public enum FixedStringError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooLong(Int)
    case invalidByte(UInt8)

    public var description: String {
        switch self {
        case .tooLong(let n): "\(n) bytes, more than the \(FixedString.capacity) the field holds"
        case .invalidByte(let b): "byte 0x\(String(b, radix: 16)) is not printable ASCII without spaces"
        }
    }
}
