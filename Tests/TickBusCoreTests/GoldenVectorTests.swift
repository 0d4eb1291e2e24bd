import Foundation
import Testing
import TickBusCore

/// Checks the Swift codec against the bytes `Tests/golden/make_vectors.py` packs with Python's
/// `struct` from the declared layouts (wire/records.json), for the same field values.
@Suite struct GoldenVectorTests {
    @Test func fileLoads() throws {
        let file = try GoldenVectors.loaded.get()
        #expect(file.version == Int(WireFormat.version))
        #expect(file.cases.count >= 15)
        #expect(file.invalid.count >= 11)
        #expect(Set(file.cases.map(\.name)).count == file.cases.count, "case names are unique")
        #expect(Set(file.invalid.map(\.name)).count == file.invalid.count, "invalid names are unique")
    }

    @Test func coversEveryKindMarketAndFlag() throws {
        let records = try GoldenVectors.cases.map(GoldenVectors.record)
        #expect(Set(records.map(\.kind)) == Set(RecordKind.allCases))
        let flags = records.reduce(RecordFlags()) { $0.union($1.header.flags) }
        #expect(flags == .all)
        let topics = GoldenVectors.cases.map(\.topic)
        for kind in ["T.", "Q.", "A.", "AM.", "B", "S.", "H."] {
            #expect(topics.contains { $0.hasPrefix(kind) }, "no \(kind) topic")
        }
        #expect(records.contains { $0.header.symbol.count == FixedString.capacity })
    }

    @Test(arguments: GoldenVectors.cases)
    func encodes(_ c: GoldenVectors.Case) throws {
        let record = try GoldenVectors.record(c)
        #expect(hex(WireFormat.encode(record)) == c.recordHex)
        #expect(hex(BusMessage.encode(record)) == c.messageHex)
        #expect(WireFormat.encodedSize(of: record) * 2 == c.recordHex.utf8.count)
        #expect(Topic(of: record).description == c.topic)
        #expect(c.messageHex.hasPrefix(hex(Array((Topic(of: record).exactPrefix).utf8))))
    }

    @Test(arguments: GoldenVectors.cases)
    func decodes(_ c: GoldenVectors.Case) throws {
        let expected = try GoldenVectors.record(c)
        let message = try #require(bytes(hex: c.messageHex))
        let record = try #require(bytes(hex: c.recordHex))

        let fromMessage = try BusMessage.decode(message)
        let fromRecord = try WireFormat.decode(record)
        #expect(fromMessage.isBitwiseEqual(to: expected))
        #expect(fromRecord.isBitwiseEqual(to: expected))
        if !expected.containsNaN {
            #expect(fromMessage == expected)
            #expect(fromRecord == expected)
        }

        // The split and the topic agree with the case.
        try message.withUnsafeBytes { raw in
            let (topic, body) = try BusMessage.split(raw)
            #expect(String(decoding: topic, as: UTF8.self) == c.topic)
            #expect(hex(body) == c.recordHex)
        }
        let topic = try Topic(parsing: c.topic)
        #expect(topic == Topic(of: fromMessage))
        #expect(topic.description == c.topic)
    }

    /// The field values print back exactly as the file spells them.
    @Test(arguments: GoldenVectors.cases)
    func fieldsRoundTrip(_ c: GoldenVectors.Case) throws {
        let record = try BusMessage.decode(try #require(bytes(hex: c.messageHex)))
        let f = c.fields
        #expect(f["kind"] as? String == record.kind.name)
        #expect(f["market"] as? String == record.header.market.name)
        #expect(f["flags"] as? [String] == record.header.flags.names)
        #expect(f["symbol"] as? String == record.header.symbol.description)
        func price(_ key: String, _ p: Price) {
            if p.isNull {
                #expect(f[key] is NSNull, "\(key) should be null")
            } else {
                #expect(f[key] as? String == p.description, "\(key)")
            }
        }
        switch record {
        case .trade(let r):
            price("price", r.price)
            #expect((f["conditions"] as? [Int])?.map(UInt16.init) == r.conditions.codes)
            #expect(f["trade_id"] as? String == r.tradeID.description)
        case .quote(let r):
            price("bid_price", r.bidPrice)
            price("ask_price", r.askPrice)
        case .bar(let r):
            for (key, p) in [("open", r.open), ("high", r.high), ("low", r.low), ("close", r.close), ("vwap", r.vwap)] {
                price(key, p)
            }
            if r.volume.isNaN {
                #expect(f["volume"] is NSNull)
                #expect(r.volume.bitPattern == 0x7FF8_0000_0000_0000, "the canonical quiet NaN")
            }
        case .status(let r):
            #expect(f["level"] as? String == r.level.name)
            #expect(f["json"] as? String == r.json)
        case .heartbeat:
            break
        }
    }

    @Test(arguments: GoldenVectors.invalid)
    func rejects(_ c: GoldenVectors.Invalid) throws {
        let message = try #require(bytes(hex: c.messageHex))
        do {
            let record = try BusMessage.decode(message)
            Issue.record("\(c.name) decoded to \(record)")
        } catch {
            #expect(error.category == c.error, "\(c.name): \(error)")
        }
    }

    /// The brief's list of malformed inputs is all there.
    @Test func invalidCasesCoverEveryCategory() {
        let categories = Set(GoldenVectors.invalid.map(\.error))
        let all: Set<String> = [
            "no_topic_separator", "too_short", "length_mismatch", "unsupported_version", "unknown_kind",
            "unknown_market", "unknown_flags", "wrong_size", "bad_field", "topic_mismatch",
        ]
        #expect(categories == all)
    }
}
