import TestSupport
import Testing
import TickBusCore

/// Decoding never traps: malformed bytes throw, and whatever decodes re-encodes to exactly the
/// bytes it came from (the encoding is canonical).
@Suite struct FuzzTests {
    /// Decodes `message`; when it decodes, checks it re-encodes to the same bytes.
    /// Returns whether it decoded.
    @discardableResult
    static func checkMessage(_ message: [UInt8], _ context: @autoclosure () -> String) -> Bool {
        guard let record = try? BusMessage.decode(message) else { return false }
        let again = BusMessage.encode(record)
        #expect(again == message, "\(context()): \(hex(message)) decoded but re-encodes as \(hex(again))")
        return true
    }

    @discardableResult
    static func checkRecord(_ bytes: [UInt8], _ context: @autoclosure () -> String) -> Bool {
        guard let record = try? WireFormat.decode(bytes) else { return false }
        let again = WireFormat.encode(record)
        #expect(again == bytes, "\(context()): \(hex(bytes)) decoded but re-encodes as \(hex(again))")
        return true
    }

    static var goldenMessages: [[UInt8]] {
        GoldenVectors.cases.compactMap { bytes(hex: $0.messageHex) }
    }

    /// Random bytes, half of them with a length field that matches, so that decoding gets past
    /// the length check: the refusals must come from more than the first two guards.
    @Test func randomBytes() {
        var rng = SplitMix64(seed: 0xF022)
        var refusals: Set<String> = []
        for i in 0..<5000 {
            let count = Int.random(in: 0...300, using: &rng)
            var junk = rng.bytes(count)
            if count >= 2, Bool.random(using: &rng) {
                junk[0] = UInt8(count & 0xFF)
                junk[1] = UInt8(count >> 8)
            }
            Self.checkMessage(junk, "random \(i)")
            Self.checkRecord(junk, "random \(i)")
            do { _ = try WireFormat.decode(junk) } catch { refusals.insert(error.category) }
        }
        #expect(refusals.isSuperset(of: ["too_short", "length_mismatch", "unsupported_version"]), "\(refusals.sorted())")
    }

    /// Random bodies behind a plausible topic and header, so decoding gets past the first checks.
    @Test func randomRecordsWithPlausibleHeaders() {
        var rng = SplitMix64(seed: 0xBEEF)
        let sizes: [UInt8: [Int]] = [1: [128], 2: [112], 3: [128], 4: [68, 69, 100, 300], 5: [104]]
        var decoded = 0
        for i in 0..<5000 {
            let kind = UInt8.random(in: 0...6, using: &rng)
            let size = sizes[kind]?.randomElement(using: &rng) ?? Int.random(in: 0...200, using: &rng)
            var record = rng.bytes(size)
            if size >= 64 {
                record[0] = UInt8(size & 0xFF)
                record[1] = UInt8(size >> 8)
                record[2] = 1
                record[3] = kind
                record[4] = UInt8.random(in: 0...7, using: &rng)
                record[5] = UInt8.random(in: 0...16, using: &rng)
                for j in [6, 7, 12, 13, 14, 15] where Int.random(in: 0..<8, using: &rng) != 0 { record[j] = 0 }
                let symbolLength = Int.random(in: 0...24, using: &rng)
                for j in 0..<24 {
                    record[40 + j] = j < symbolLength ? UInt8.random(in: 0x21...0x7E, using: &rng) : 0
                }
                // Make most reserved and unused bytes zero so that some records decode.
                if Bool.random(using: &rng) {
                    let zeros: [Int]
                    switch kind {
                    case 1: zeros = Array(91..<128)
                    case 2: zeros = [111]
                    case 3: zeros = Array(124..<128)
                    case 4: zeros = [65]
                    default: zeros = Array(100..<104)
                    }
                    for j in zeros where j < size { record[j] = 0 }
                    if kind == 4 && size >= 68 {
                        record[64] = UInt8.random(in: 0...3, using: &rng)
                        let body = size - 68
                        record[66] = UInt8(body & 0xFF)
                        record[67] = UInt8(body >> 8)
                        for j in 68..<size { record[j] = UInt8.random(in: 0x20...0x7E, using: &rng) }
                    }
                }
            }
            if Self.checkRecord(record, "plausible \(i)") {
                decoded += 1
                if let r = try? WireFormat.decode(record) {
                    let topic = Array(Topic(of: r).description.utf8)
                    #expect(Self.checkMessage(topic + [0x20] + record, "plausible message \(i)"))
                }
            }
        }
        #expect(decoded > 100, "the generator should reach the kind-specific code")
    }

    /// Every byte of every golden message, set to several values.
    @Test func mutateEveryByte() {
        var rng = SplitMix64(seed: 0x6D75_7461_7465)
        var decoded = 0, rejected = 0
        for (n, message) in Self.goldenMessages.enumerated() {
            for i in message.indices {
                var values: Set<UInt8> = [0x00, 0xFF, 0x20, 0x2E, message[i] ^ 0x01, message[i] ^ 0x80]
                values.insert(UInt8.random(in: .min ... .max, using: &rng))
                for v in values where v != message[i] {
                    var mutated = message
                    mutated[i] = v
                    if Self.checkMessage(mutated, "case \(n) byte \(i) = \(v)") { decoded += 1 } else { rejected += 1 }
                }
            }
        }
        #expect(decoded > 0 && rejected > 0)
    }

    @Test func truncateAndExtend() {
        var rng = SplitMix64(seed: 0x7472_756E)
        for (n, message) in Self.goldenMessages.enumerated() {
            for length in 0..<message.count {
                #expect(!Self.checkMessage(Array(message[..<length]), "case \(n) cut to \(length)"))
            }
            for extra in 1...16 {
                #expect(!Self.checkMessage(message + rng.bytes(extra), "case \(n) + \(extra) bytes"))
                #expect(!Self.checkMessage(message + [UInt8](repeating: 0, count: extra), "case \(n) + \(extra) zeros"))
            }
            // Two messages glued into one frame are not one message.
            #expect(!Self.checkMessage(message + message, "case \(n) twice"))
        }
    }

    /// Random multi-byte damage to records (not messages) as well.
    @Test func mutateRecordsRandomly() {
        var rng = SplitMix64(seed: 77)
        let records = GoldenVectors.cases.compactMap { bytes(hex: $0.recordHex) }
        guard !records.isEmpty else { return }
        for i in 0..<5000 {
            var record = records[i % records.count]
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0..<record.count, using: &rng)
                record[at] = UInt8.random(in: .min ... .max, using: &rng)
            }
            Self.checkRecord(record, "record mutation \(i)")
        }
    }
}
