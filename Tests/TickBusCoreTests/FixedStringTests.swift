import Testing
import TickBusCore

@Suite struct FixedStringTests {
    /// `FixedString("literal")` is the literal initializer (which traps on bad input), so the
    /// throwing initializer is called through a `String` value.
    func make(_ text: String) throws(FixedStringError) -> FixedString { try FixedString(text) }

    @Test(arguments: ["AAPL", "BRK.B", "O:SPY251219C00650000", "EUR/USD", "I:SPX", "X", "ABCDEFGHIJKLMNOPQRSTUVWX", "~!#"])
    func storesPrintableASCII(_ text: String) throws {
        let s = try FixedString(text)
        #expect(s.description == text)
        #expect(s.count == text.utf8.count)
        #expect(!s.isEmpty)
        for (i, b) in text.utf8.enumerated() { #expect(s.byte(i) == b) }
        #expect(s.byte(text.utf8.count) == 0 || text.utf8.count == FixedString.capacity)

        // The 24-byte wire field round-trips.
        var field = [UInt8](repeating: 0xAA, count: 24)
        field.withUnsafeMutableBytes { s.writeField(into: $0, at: 0) }
        #expect(Array(field.prefix(text.utf8.count)) == Array(text.utf8))
        #expect(field.dropFirst(text.utf8.count).allSatisfy { $0 == 0 })
        let back = try field.withUnsafeBytes { raw in
            Result { () throws(FixedStringError) in try FixedString(field: raw) }
        }.get()
        #expect(back == s)

        // write(into:at:) writes the bytes without padding.
        var out = [UInt8](repeating: 0, count: 30)
        let n = out.withUnsafeMutableBytes { s.write(into: $0, at: 3) }
        #expect(n == text.utf8.count)
        #expect(Array(out[3..<(3 + n)]) == Array(text.utf8))
    }

    @Test func empty() throws {
        let s = try make("")
        #expect(s == FixedString())
        #expect(s.isEmpty)
        #expect(s.count == 0)
        #expect(s.description == "")
    }

    @Test func rejects() {
        #expect(throws: FixedStringError.tooLong(25)) { try make("ABCDEFGHIJKLMNOPQRSTUVWXY") }
        #expect(throws: FixedStringError.invalidByte(0x20)) { try make("AA PL") }
        #expect(throws: FixedStringError.invalidByte(0x00)) { try make("AA\u{0}") }
        #expect(throws: FixedStringError.invalidByte(0x09)) { try make("\tA") }
        #expect(throws: FixedStringError.invalidByte(0x7F)) { try make("A\u{7F}") }
        #expect(throws: FixedStringError.invalidByte(0xC3)) { try make("é") }
        #expect(FixedStringError.tooLong(25).description.contains("25 bytes"))
        #expect(FixedStringError.invalidByte(0x20).description.contains("0x20"))
    }

    @Test func fieldRules() {
        func field(_ bytes: [UInt8]) throws(FixedStringError) -> FixedString {
            let padded = bytes + [UInt8](repeating: 0, count: 24 - bytes.count)
            return try padded.withUnsafeBytes { raw in
                Result { () throws(FixedStringError) in try FixedString(field: raw) }
            }.get()
        }
        #expect((try? field([]))?.isEmpty == true)
        #expect((try? field(Array("ABCDEFGHIJKLMNOPQRSTUVWX".utf8)))?.count == 24)
        #expect(throws: FixedStringError.invalidByte(0x58)) { try field(Array("AAPL".utf8) + [0, 0x58]) }
        #expect(throws: FixedStringError.invalidByte(0x41)) { try field([0, 0x41]) }
        #expect(throws: FixedStringError.invalidByte(0x20)) { try field([0x41, 0x20, 0x42]) }
        #expect(throws: FixedStringError.invalidByte(0xFF)) { try field([0xFF]) }
    }

    @Test func orderAndHashing() {
        let a: FixedString = "AAPL", b: FixedString = "AAPLX", c: FixedString = "MSFT"
        #expect(a < b && b < c)
        #expect(!(a < a))
        #expect(Set([a, b, c, "AAPL"]).count == 3)
        #expect(a == (try? make("AAPL")))
        #expect(a != b)
    }
}
