import TickBusCore

/// A float64 value as pandas' `to_csv` writes it: Python's `repr`, the shortest decimal that
/// reads back to the same double, with `.0` on whole values and an exponent below 1e-4 or from
/// 1e16 (`475.4`, `612000.0`, `2.344e-05`, `1.6049382571604947e+17`).
public enum PandasFloat {
    /// The longest text: a sign, 17 digits, a point and `e-308`.
    public static let maxLength = 32

    /// Writes `value` (finite) into `out` (at least ``maxLength`` bytes); returns the length.
    @inline(__always)
    public static func write(_ value: Double, into out: UnsafeMutableRawPointer) -> Int {
        if value.rounded(.towardZero) == value, value.magnitude < 1e16 {
            var n = 0
            if value.sign == .minus { out.storeBytes(of: UInt8(ascii: "-"), as: UInt8.self); n = 1 }
            n += writeDigits(UInt64(value.magnitude), into: out + n)
            out.storeBytes(of: UInt8(ascii: "."), toByteOffset: n, as: UInt8.self)
            out.storeBytes(of: UInt8(ascii: "0"), toByteOffset: n + 1, as: UInt8.self)
            return n + 2
        }
        return reformat(value.description, into: out)
    }

    /// Writes the double nearest `price` as ``write(_:into:)`` does, without going through
    /// `Double.description` when the price has at most 15 significant digits and is at least
    /// 1e-4: its shortest decimal is then the price's own.
    @inline(__always)
    public static func write(_ price: Price, into out: UnsafeMutableRawPointer) -> Int {
        let magnitude = price.raw.magnitude
        if magnitude >= 100_000, significand(price).digits < 1_000_000_000_000_000 {
            let n = price.write(into: UnsafeMutableRawBufferPointer(start: out, count: maxLength))
            guard magnitude % UInt64(Price.scale) == 0 else { return n }
            out.storeBytes(of: UInt8(ascii: "."), toByteOffset: n, as: UInt8.self)
            out.storeBytes(of: UInt8(ascii: "0"), toByteOffset: n + 1, as: UInt8.self)
            return n + 2
        }
        return write(nearest(price), into: out)
    }

    /// The double nearest the price's exact value (what a correctly rounding parser, as
    /// pandas' is, reads from its decimal text).
    public static func nearest(_ price: Price) -> Double {
        let (digits, decimals) = significand(price)
        if digits <= 1 << 53 {
            let value = Double(digits) / powersOfTen[decimals]
            return price.raw < 0 ? -value : value
        }
        // 16 or more significant digits: the exact quotient needs a correctly rounding parser.
        return withUnsafeTemporaryAllocation(byteCount: maxLength, alignment: 1) { buffer in
            let count = price.write(into: buffer)
            return Double(String(decoding: buffer[..<count], as: UTF8.self)) ?? price.doubleValue
        }
    }

    /// The price's magnitude as digits × 10^-decimals, without trailing zeros.
    @inline(__always)
    private static func significand(_ price: Price) -> (digits: UInt64, decimals: Int) {
        var digits = price.raw.magnitude
        var decimals = 9
        while decimals > 0, digits % 10 == 0 {
            digits /= 10
            decimals -= 1
        }
        return (digits, decimals)
    }

    private static let powersOfTen: [Double] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9]

    @inline(__always)
    static func writeDigits(_ value: UInt64, into out: UnsafeMutableRawPointer) -> Int {
        var digits = 1
        var scan = value
        while scan >= 10 {
            scan /= 10
            digits += 1
        }
        var rest = value
        for i in stride(from: digits - 1, through: 0, by: -1) {
            out.storeBytes(of: UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10), toByteOffset: i, as: UInt8.self)
            rest /= 10
        }
        return digits
    }

    /// Swift's shortest digits (`2.344e-05`, `1234.5`, `1.6e+17`) in Python's layout: fixed
    /// for decimal exponents -4 through 15, else `d.ddde±XX`.
    private static func reformat(_ swift: String, into out: UnsafeMutableRawPointer) -> Int {
        var digits: (UInt64, Int) = (0, 0)  // the significant digits and how many
        var point = 0  // the decimal exponent of the first digit + 1, as Python's `decpt`
        var negative = false, seenPoint = false, leading = true, exponent = 0, exponentSign = 1
        var inExponent = false
        for byte in swift.utf8 {
            switch byte {
            case UInt8(ascii: "-") where !inExponent: negative = true
            case UInt8(ascii: "-"): exponentSign = -1
            case UInt8(ascii: "+"): break
            case UInt8(ascii: "."): seenPoint = true
            case UInt8(ascii: "e"), UInt8(ascii: "E"): inExponent = true
            case let d where inExponent: exponent = exponent * 10 + Int(d &- UInt8(ascii: "0"))
            case UInt8(ascii: "0") where leading:
                if seenPoint { point -= 1 }
            default:
                leading = false
                if digits.1 < 19 {
                    digits.0 = digits.0 * 10 + UInt64(byte &- UInt8(ascii: "0"))
                    digits.1 += 1
                }
                if !seenPoint { point += 1 }
            }
        }
        // Trailing zeros of the integer part are not significant.
        while digits.1 > 1, digits.0 % 10 == 0 {
            digits.0 /= 10
            digits.1 -= 1
        }
        point += exponentSign * exponent
        var divisor: UInt64 = 1
        for _ in 1..<digits.1 { divisor *= 10 }
        func digit(_ i: Int) -> UInt8 {
            var d = divisor
            for _ in 0..<i { d /= 10 }
            return UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: digits.0 / d % 10)
        }
        var n = 0
        func put(_ byte: UInt8) {
            out.storeBytes(of: byte, toByteOffset: n, as: UInt8.self)
            n += 1
        }
        if negative { put(UInt8(ascii: "-")) }
        if point > -4, point <= 16 {
            if point <= 0 {
                put(UInt8(ascii: "0")); put(UInt8(ascii: "."))
                for _ in 0 ..< -point { put(UInt8(ascii: "0")) }
                for i in 0..<digits.1 { put(digit(i)) }
            } else {
                for i in 0..<max(point, digits.1) {
                    if i == point { put(UInt8(ascii: ".")) }
                    put(i < digits.1 ? digit(i) : UInt8(ascii: "0"))
                }
                if point >= digits.1 { put(UInt8(ascii: ".")); put(UInt8(ascii: "0")) }
            }
        } else {
            put(digit(0))
            if digits.1 > 1 {
                put(UInt8(ascii: "."))
                for i in 1..<digits.1 { put(digit(i)) }
            }
            let e = point - 1
            put(UInt8(ascii: "e"))
            put(e < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            if e.magnitude < 10 { put(UInt8(ascii: "0")) }
            n += writeDigits(UInt64(e.magnitude), into: out + n)
        }
        return n
    }
}
