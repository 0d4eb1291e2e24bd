import TickBusCore

/// Numbers read from JSON text without going through `String` or Foundation.
public enum NumberText {
    /// A whole number, optionally signed; nil for anything else (fractions, exponents, overflow).
    @inline(__always)
    @inlinable
    public static func int64(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var i = 0
        var negative = false
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        guard i < bytes.count, bytes.count - i <= 19 else { return nil }
        var value: Int64 = 0
        while i < bytes.count {
            let d = bytes[i] &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            value = value &* 10 &+ Int64(d)
            i += 1
        }
        guard value >= 0 else { return nil }
        return negative ? -value : value
    }

    /// A decimal number (`100`, `0.01616617`, `1.029145e+06`, `-3.5`) as the nearest `Double`.
    /// Exact for up to 15 significant digits and small exponents (the fast path); anything else
    /// goes through the standard library's correctly rounded parser.
    @inlinable
    public static func double(_ bytes: UnsafeRawBufferPointer) -> Double? {
        var i = 0
        var negative = false
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        var sawDigit = false
        var sawPoint = false
        while i < bytes.count {
            let b = bytes[i]
            let d = b &- UInt8(ascii: "0")
            if d < 10 {
                sawDigit = true
                if mantissa != 0 || d != 0 { digits += 1 }
                mantissa = mantissa &* 10 &+ UInt64(d)
                if sawPoint { exponent -= 1 }
            } else if b == UInt8(ascii: "."), !sawPoint {
                sawPoint = true
            } else {
                break
            }
            i += 1
        }
        guard sawDigit else { return nil }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            var expNegative = false
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
                expNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            var value = 0
            var expDigits = 0
            while i < bytes.count, bytes[i] &- UInt8(ascii: "0") < 10 {
                if value < 100_000 { value = value * 10 + Int(bytes[i] - UInt8(ascii: "0")) }
                expDigits += 1
                i += 1
            }
            guard expDigits > 0 else { return nil }
            exponent += expNegative ? -value : value
        }
        guard i == bytes.count else { return nil }
        if digits <= 15, exponent >= -22, exponent <= 22 {
            // Both operands exact in a Double, so one correctly rounded operation.
            let m = Double(mantissa)
            let value = exponent < 0 ? m / powersOfTen[-exponent] : m * powersOfTen[exponent]
            return negative ? -value : value
        }
        return Double(String(decoding: bytes, as: UTF8.self))
    }

    @usableFromInline static let powersOfTen: [Double] = (0...22).map { n in
        var p = 1.0
        for _ in 0..<n { p *= 10 }
        return p
    }

    /// A timestamp whose unit Massive leaves ambiguous, to ns by magnitude: seconds (up to 11
    /// digits), milliseconds (up to 14), microseconds (up to 17), else nanoseconds. Nil when the
    /// time does not fit in 64-bit ns (before 1677-09-21 or after 2262-04-11).
    @inline(__always)
    @inlinable
    public static func nanoseconds(byMagnitude value: Int64) -> Int64? {
        let magnitude = value.magnitude
        let scale: Int64 =
            magnitude < 100_000_000_000 ? 1_000_000_000
            : magnitude < 100_000_000_000_000 ? 1_000_000 : magnitude < 100_000_000_000_000_000 ? 1_000 : 1
        let (ns, overflow) = value.multipliedReportingOverflow(by: scale)
        return overflow ? nil : ns
    }
}
