/// JSON string escapes resolved: the one unescaper of every JSON reader in tickbus (control
/// requests, Massive's WebSocket frames and REST pages). A `\uD83D\uDE00` surrogate pair is one
/// scalar (😀).
public enum JSONUnescape {
    /// Why the contents of a JSON string are not valid, and where (a byte offset into them).
    public struct Invalid: Error, Equatable {
        public let offset: Int
        public let reason: String
    }

    /// The contents of a string (the bytes between its quotes) with escapes resolved; throws at
    /// the first invalid escape, unpaired surrogate, control character or invalid UTF-8.
    public static func strict(_ raw: UnsafeRawBufferPointer) throws(Invalid) -> String {
        try resolve(raw, lenient: false)
    }

    /// Like ``strict(_:)``, for text that is only shown (an upstream's status message): an
    /// invalid escape or surrogate becomes U+FFFD and invalid UTF-8 is repaired, so it never fails.
    public static func lenient(_ raw: UnsafeRawBufferPointer) -> String {
        (try? resolve(raw, lenient: true)) ?? String(decoding: raw, as: UTF8.self)
    }

    private static let replacement: UInt32 = 0xFFFD

    private static func resolve(_ raw: UnsafeRawBufferPointer, lenient: Bool) throws(Invalid) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        func fail(_ reason: String) throws(Invalid) { if !lenient { throw Invalid(offset: i, reason: reason) } }
        while i < raw.count {
            let byte = raw[i]
            if byte < 0x20 {
                try fail("control character in a string")
                out.append(byte)
                i += 1
                continue
            }
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                i += 1
                continue
            }
            i += 1
            guard i < raw.count else {
                try fail("unexpected end of input")
                append(replacement, to: &out)
                break
            }
            let escape = raw[i]
            i += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard let high = hex4(raw, at: i) else {
                    try fail("invalid \\u escape")
                    append(replacement, to: &out)
                    continue
                }
                i += 4
                var scalar = high
                if (0xD800..<0xDC00).contains(high) {
                    if i + 6 <= raw.count, raw[i] == UInt8(ascii: "\\"), raw[i + 1] == UInt8(ascii: "u"),
                       let low = hex4(raw, at: i + 2), (0xDC00..<0xE000).contains(low) {
                        i += 6
                        scalar = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        try fail("unpaired surrogate")
                        scalar = replacement
                    }
                } else if (0xDC00..<0xE000).contains(high) {
                    try fail("unpaired surrogate")
                    scalar = replacement
                }
                append(scalar, to: &out)
            default:
                try fail("invalid escape")
                append(replacement, to: &out)
            }
        }
        if let text = String(validating: out, as: UTF8.self) { return text }
        try fail("string is not UTF-8")
        return String(decoding: out, as: UTF8.self)
    }

    /// The value of four hex digits at `index`, or nil.
    private static func hex4(_ raw: UnsafeRawBufferPointer, at index: Int) -> UInt32? {
        guard index + 4 <= raw.count else { return nil }
        var value: UInt32 = 0
        for b in raw[index..<index + 4] {
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// Appends the UTF-8 bytes of `scalar`, a scalar value below 0x110000 that is not a surrogate
    /// (four hex digits or a resolved pair, so it always is).
    private static func append(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case ..<0x80:
            out.append(UInt8(scalar))
        case ..<0x800:
            out.append(0xC0 | UInt8(scalar >> 6))
            out.append(0x80 | UInt8(scalar & 0x3F))
        case ..<0x10000:
            out.append(0xE0 | UInt8(scalar >> 12))
            out.append(0x80 | UInt8(scalar >> 6 & 0x3F))
            out.append(0x80 | UInt8(scalar & 0x3F))
        default:
            out.append(0xF0 | UInt8(scalar >> 18 & 0x07))
            out.append(0x80 | UInt8(scalar >> 12 & 0x3F))
            out.append(0x80 | UInt8(scalar >> 6 & 0x3F))
            out.append(0x80 | UInt8(scalar & 0x3F))
        }
    }
}
