/// A number as a CSV field writes it, `[+-]digits[.digits][(e|E)[+-]digits]`: what pandas'
/// parser reads as a number, without the spellings (`NaN`, `inf`, spaces) tickbus refuses.
/// The value is `digits × 10^exponent`, sign apart.
struct DecimalToken {
    var negative = false
    /// The first 19 significant digits.
    var digits: UInt64 = 0
    var exponent = 0
    /// Written with a point or an exponent: pandas makes the column float64.
    var isFloat = false
    /// A nonzero digit beyond the 19 kept.
    var lost = false

    init?(_ text: UnsafeRawBufferPointer) {
        var i = 0
        if i < text.count, text[i] == UInt8(ascii: "-") || text[i] == UInt8(ascii: "+") {
            negative = text[i] == UInt8(ascii: "-")
            i += 1
        }
        var significant = 0, sawDigit = false, sawPoint = false
        while i < text.count {
            let byte = text[i]
            let d = byte &- UInt8(ascii: "0")
            if d < 10 {
                sawDigit = true
                if significant < 19 {
                    if digits != 0 || d != 0 { significant += 1 }
                    digits = digits * 10 + UInt64(d)
                    if sawPoint { exponent -= 1 }
                } else {
                    if d != 0 { lost = true }
                    if !sawPoint { exponent += 1 }
                }
            } else if byte == UInt8(ascii: "."), !sawPoint {
                sawPoint = true
                isFloat = true
            } else {
                break
            }
            i += 1
        }
        guard sawDigit else { return nil }
        if i < text.count, text[i] == UInt8(ascii: "e") || text[i] == UInt8(ascii: "E") {
            isFloat = true
            i += 1
            var negativeExponent = false
            if i < text.count, text[i] == UInt8(ascii: "-") || text[i] == UInt8(ascii: "+") {
                negativeExponent = text[i] == UInt8(ascii: "-")
                i += 1
            }
            var value = 0, count = 0
            while i < text.count, text[i] &- UInt8(ascii: "0") < 10 {
                if value < 100_000 { value = value * 10 + Int(text[i] &- UInt8(ascii: "0")) }
                count += 1
                i += 1
            }
            guard count > 0 else { return nil }
            exponent += negativeExponent ? -value : value
        }
        guard i == text.count else { return nil }
    }
}
