import TestSupport
import Testing
import TickBusCore

@Suite struct PriceTests {
    static let parseCases: [(String, Int64)] = [
        ("475.4", 475_400_000_000),
        ("0.0001", 100_000),
        ("114.125", 114_125_000_000),
        ("-1.5", -1_500_000_000),
        ("1.5e-05", 15_000),
        ("1E3", 1_000_000_000_000),
        ("+2", 2_000_000_000),
        ("0", 0),
        ("-0", 0),
        ("0.000", 0),
        ("0.1234567894", 123_456_789),
        ("0.1234567895", 123_456_790),
        ("-0.1234567895", -123_456_790),
        ("-0.0000000005", -1),
        ("0.0000000004999", 0),
        ("0.00000000049999999999999999999", 0),
        ("9223372036.854775807", .max),
        ("-9223372036.854775807", -.max),
        ("9223372036.8547758074", .max),
        ("0.000000001", 1),
        ("1e-9", 1),
        ("1e-10", 0),
        ("5e-10", 1),
        ("12.5E+2", 1_250_000_000_000),
        ("0e99999", 0),
        ("1e-99999", 0),
        (".5", 500_000_000),
        ("5.", 5_000_000_000),
        ("00000000000000000000000000001.5", 1_500_000_000),
        ("1.000000000000000000000000000", 1_000_000_000),
        ("123456789012345678901234567890e-20", 1_234_567_890_123_456_789),
        // More than 19 significant digits: the rounding digit is beyond what the mantissa holds.
        ("1234567890.1234567895", 1_234_567_890_123_456_790),
        ("1234567890.12345678949999", 1_234_567_890_123_456_789),
        ("-1234567890.1234567895", -1_234_567_890_123_456_790),
        ("12345678901234567895e-10", 1_234_567_890_123_456_790),
    ]

    @Test(arguments: parseCases)
    func parses(_ text: String, _ raw: Int64) throws {
        #expect(try Price(parsing: text).raw == raw, "\(text)")
        // The same through a Substring and through raw bytes.
        #expect(try Price(parsing: ("[" + text + "]").dropFirst().dropLast()).raw == raw)
        let viaBytes = try Array(text.utf8).withUnsafeBytes { bytes in
            Result { () throws(PriceParseError) in try Price(ascii: bytes) }
        }.get()
        #expect(viaBytes.raw == raw)
    }

    static let rejectCases: [(String, PriceParseError)] = [
        ("9223372037", .outOfRange),
        ("-9223372037", .outOfRange),
        ("9223372036.854775808", .outOfRange),
        ("9223372036.8547758075", .outOfRange),
        ("-9223372036.854775808", .outOfRange),
        ("1e10", .outOfRange),
        ("1e99999", .outOfRange),
        ("99999999999999999999", .outOfRange),
        ("", .notANumber),
        ("-", .notANumber),
        ("+", .notANumber),
        (".", .notANumber),
        ("-.", .notANumber),
        ("1.2.3", .notANumber),
        ("abc", .notANumber),
        ("1e", .notANumber),
        ("1e+", .notANumber),
        ("1e-", .notANumber),
        ("e5", .notANumber),
        ("12a", .notANumber),
        (" 1", .notANumber),
        ("1 ", .notANumber),
        ("--1", .notANumber),
        ("1,5", .notANumber),
        ("NaN", .notANumber),
        ("inf", .notANumber),
        ("0x10", .notANumber),
        ("１", .notANumber),
    ]

    @Test(arguments: rejectCases)
    func rejects(_ text: String, _ expected: PriceParseError) {
        #expect(throws: expected, "\(text)") { try Price(parsing: text) }
    }

    @Test(arguments: [
        (Int64(475_400_000_000), "475.4"),
        (100_000, "0.0001"),
        (100_000_000_000, "100"),
        (-3_000_000_000, "-3"),
        (1, "0.000000001"),
        (-1, "-0.000000001"),
        (0, "0"),
        (114_125_000_000, "114.125"),
        (10_000_000_000, "10"),
        (1_000_000_001, "1.000000001"),
        (.max, "9223372036.854775807"),
        (-.max, "-9223372036.854775807"),
        (.min, "-9223372036.854775808"),
    ])
    func prints(_ raw: Int64, _ text: String) {
        #expect(Price(raw: raw).description == text)
    }

    @Test func writeIntoBufferOfTwentyOneBytes() {
        for raw in [Int64.min, .max, -1, 0, 123_456_789_012] {
            var buffer = [UInt8](repeating: 0xEE, count: 21)
            let n = buffer.withUnsafeMutableBytes { Price(raw: raw).write(into: $0) }
            #expect(String(decoding: buffer[..<n], as: UTF8.self) == Price(raw: raw).description)
        }
    }

    @Test func nullAndUnits() {
        #expect(Price.null.raw == .min)
        #expect(Price.null.isNull)
        #expect(!Price(raw: 0).isNull)
        #expect(Price(units: 475) == Price(raw: 475_000_000_000))
        #expect(Price(units: -2).description == "-2")
        #expect(Price(raw: 1_500_000_000).doubleValue == 1.5)
        #expect(Price(raw: 1) < Price(raw: 2))
        #expect(Price.null < Price(raw: -.max))
    }

    /// description → parse is the identity for every non-null price.
    @Test func randomRoundTrip() throws {
        var rng = SplitMix64(seed: 0x7469_636B_6275_7301)
        for i in 0..<20_000 {
            var raw: Int64
            switch i % 4 {
            case 0: raw = Int64(bitPattern: rng.next())
            case 1: raw = Int64.random(in: -1_000_000_000_000...1_000_000_000_000, using: &rng)
            case 2: raw = Int64.random(in: -10_000...10_000, using: &rng) * 1_000_000  // few decimals
            default: raw = Int64.random(in: -999...999, using: &rng)
            }
            if raw == .min { raw = 0 }
            let text = Price(raw: raw).description
            let back = try Price(parsing: text)
            #expect(back.raw == raw, "\(raw) → \(text) → \(back.raw)")
            if back.raw != raw { return }
        }
    }

    /// Random decimal text against integer arithmetic: exact up to 9 decimals, then rounded half
    /// away from zero on the tenth.
    @Test func randomDecimalText() throws {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<20_000 {
            let negative = Bool.random(using: &rng)
            let whole = UInt64.random(in: 0...9_223_372_035, using: &rng) >> UInt64.random(in: 0...33, using: &rng)
            let decimals = Int.random(in: 0...14, using: &rng)
            var fraction: [UInt8] = (0..<decimals).map { _ in UInt8.random(in: 0...9, using: &rng) }
            if Bool.random(using: &rng), decimals > 9 { fraction[9] = 5 }  // exercise ties
            var text = negative ? "-" : ""
            text += String(whole)
            if decimals > 0 { text += "." + fraction.map(String.init).joined() }

            var expected = whole * 1_000_000_000
            var scale: UInt64 = 100_000_000
            for d in fraction.prefix(9) {
                expected += UInt64(d) * scale
                scale /= 10
            }
            if fraction.count > 9 && fraction[9] >= 5 { expected += 1 }
            let raw = negative ? -Int64(expected) : Int64(expected)
            let parsed = try Price(parsing: text)
            #expect(parsed.raw == raw, "\(text)")
            if parsed.raw != raw { return }
        }
    }

    @Test func errorDescriptions() {
        #expect(PriceParseError.notANumber.description.contains("not a decimal"))
        #expect(PriceParseError.outOfRange.description.contains("out of range"))
    }
}
