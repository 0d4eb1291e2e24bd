/// A price in fixed point: an `Int64` count of 1e-9 units, parsed from decimal text without a
/// `Double`, so `114.125` is exactly 114_125_000_000.
public struct Price: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The price in units of 1e-9.
    public var raw: Int64

    /// Units per whole: 10^9.
    public static let scale: Int64 = 1_000_000_000
    /// Marks a missing price (q's null long, `0N`).
    public static let null = Price(raw: .min)

    public init(raw: Int64) { self.raw = raw }

    /// A whole number of units (e.g. `Price(units: 475)` is 475.0).
    public init(units: Int64) { raw = units * Price.scale }

    public var isNull: Bool { raw == .min }

    /// The nearest price to `value` (null when it is not finite or out of range).
    public init(rounding value: Double) {
        let scaled = (value * Double(Price.scale)).rounded()
        raw = scaled.isFinite && abs(scaled) < 9.2e18 ? Int64(scaled) : .min
    }

    /// The nearest `Double`, for display and arithmetic that tolerates rounding.
    public var doubleValue: Double { Double(raw) / Double(Price.scale) }

    public static func < (lhs: Price, rhs: Price) -> Bool { lhs.raw < rhs.raw }

    /// The shortest exact decimal: `475.4`, `0.0001`, `-3`, `100`.
    public var description: String {
        var digits = [UInt8](repeating: 0, count: 32)
        let count = digits.withUnsafeMutableBytes { write(into: $0) }
        return String(decoding: digits[0..<count], as: UTF8.self)
    }

    /// Writes ``description`` as ASCII into `buffer` (at least 21 bytes) and returns its length.
    public func write(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var n = 0
        if raw < 0 { buffer[0] = UInt8(ascii: "-"); n = 1 }
        let magnitude = raw.magnitude
        let whole = magnitude / UInt64(Price.scale)
        var fraction = magnitude % UInt64(Price.scale)
        n += writeDecimal(whole, into: buffer, at: n)
        guard fraction != 0 else { return n }
        buffer[n] = UInt8(ascii: "."); n += 1
        var width = 9
        while fraction % 10 == 0 { fraction /= 10; width -= 1 }
        for i in stride(from: width - 1, through: 0, by: -1) {
            buffer[n + i] = UInt8(ascii: "0") + UInt8(fraction % 10)
            fraction /= 10
        }
        return n + width
    }

    /// Parses decimal text: optional sign, digits with an optional point, an optional exponent
    /// (`1.5e-05`). Digits beyond the ninth decimal are rounded half away from zero.
    public init(parsing text: some StringProtocol) throws(PriceParseError) {
        self = try Array(text.utf8).withUnsafeBytes { bytes in
            Result { () throws(PriceParseError) in try Price(ascii: bytes) }
        }.get()
    }

    /// Parses ASCII decimal bytes; see ``init(parsing:)``.
    public init(ascii bytes: UnsafeRawBufferPointer) throws(PriceParseError) {
        var i = 0
        let end = bytes.count
        var negative = false
        if i < end, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        var mantissa: UInt64 = 0
        var significant = 0
        // The first digit after the 19 the mantissa keeps: it rounds when it is the tenth decimal.
        var firstDropped: UInt64?
        var exponent = 0
        var sawDigit = false
        var sawPoint = false
        while i < end {
            let c = bytes[i]
            if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                sawDigit = true
                let digit = UInt64(c &- UInt8(ascii: "0"))
                if significant < 19 {
                    if mantissa != 0 || digit != 0 { significant += 1 }
                    mantissa = mantissa * 10 + digit
                    if sawPoint { exponent -= 1 }
                } else {
                    if firstDropped == nil { firstDropped = digit }
                    if !sawPoint { exponent += 1 }
                }
            } else if c == UInt8(ascii: ".") && !sawPoint {
                sawPoint = true
            } else {
                break
            }
            i += 1
        }
        guard sawDigit else { throw .notANumber }
        if i < end, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            var expNegative = false
            if i < end, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
                expNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            var value = 0
            var expDigits = 0
            while i < end, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
                if value < 10_000 { value = value * 10 + Int(bytes[i] - UInt8(ascii: "0")) }
                expDigits += 1
                i += 1
            }
            guard expDigits > 0 else { throw .notANumber }
            exponent += expNegative ? -value : value
        }
        guard i == end else { throw .notANumber }

        // raw = mantissa * 10^(exponent + 9), rounded half away from zero.
        let shift = exponent + 9
        var magnitude: UInt64
        if mantissa == 0 {
            magnitude = 0
        } else if shift >= 0 {
            guard shift <= 19 else { throw .outOfRange }
            let (product, overflow) = mantissa.multipliedReportingOverflow(by: pow10(shift))
            guard !overflow else { throw .outOfRange }
            magnitude = product
            // With shift 0 the dropped digits are the part below 1e-9. (With shift > 0 a 19-digit
            // mantissa is already out of range; with shift < 0 the remainder decides alone.)
            if shift == 0, let dropped = firstDropped, dropped >= 5 { magnitude += 1 }
        } else if -shift > 19 {
            magnitude = 0
        } else {
            let divisor = pow10(-shift)
            magnitude = mantissa / divisor
            let remainder = mantissa % divisor
            if remainder >= divisor - remainder { magnitude += 1 }
        }
        guard magnitude <= UInt64(Int64.max) else { throw .outOfRange }
        raw = negative ? -Int64(magnitude) : Int64(magnitude)
    }
}

/// Why decimal text is not a price.
public enum PriceParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not decimal digits with an optional sign, point and exponent.
    case notANumber
    /// Beyond ±9,223,372,036.854775807.
    case outOfRange

    public var description: String {
        switch self {
        case .notANumber: "not a decimal number"
        case .outOfRange: "price out of range (|p| must be below 9.2e9)"
        }
    }
}

@inline(__always)
private func pow10(_ n: Int) -> UInt64 {
    var result: UInt64 = 1
    for _ in 0..<n { result &*= 10 }
    return result
}

/// Writes `value` in decimal at `offset` and returns the number of bytes written.
@inline(__always)
func writeDecimal(_ value: UInt64, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
    var digits = 1
    var probe = value
    while probe >= 10 { probe /= 10; digits += 1 }
    var rest = value
    for i in stride(from: digits - 1, through: 0, by: -1) {
        buffer[offset + i] = UInt8(ascii: "0") + UInt8(rest % 10)
        rest /= 10
    }
    return digits
}
