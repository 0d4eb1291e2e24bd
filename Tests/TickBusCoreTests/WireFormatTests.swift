import Testing
import TickBusCore

/// Codec behaviour beyond the golden vectors: sizes, limits, the message frame, record helpers.
@Suite struct WireFormatTests {
    @Test func sizes() {
        #expect(WireFormat.version == 1)
        #expect(WireFormat.headerSize == 64)
        #expect(WireFormat.tradeSize == 128)
        #expect(WireFormat.quoteSize == 112)
        #expect(WireFormat.barSize == 128)
        #expect(WireFormat.heartbeatSize == 104)
        #expect(WireFormat.statusFixedSize == 68)
        #expect(WireFormat.maxStatusBody == 65535 - 68)
        #expect(BusMessage.maxSize == BusMessage.maxTopicSize + 65535)
        #expect(RecordKind.allCases.map(\.rawValue) == [1, 2, 3, 4, 5])
        #expect(RecordKind.allCases.map(\.name) == ["trade", "quote", "bar", "status", "heartbeat"])
        #expect(Market.allCases.map(\.rawValue) == [0, 1, 2, 3, 4, 5, 6])
        #expect(Market.allCases.map(\.name) == ["unknown", "stocks", "options", "indices", "forex", "crypto", "futures"])
        #expect(StatusLevel.allCases.map(\.rawValue) == [0, 1, 2])
        #expect(RecordFlags.historical.rawValue == 1 && RecordFlags.revision.rawValue == 2)
        #expect(RecordFlags.local.rawValue == 4 && RecordFlags.late.rawValue == 8)
        #expect(RecordFlags.all.rawValue == 0x0F)
        #expect(RecordFlags.all.names == ["historical", "revision", "local", "late"])
        #expect(RecordFlags().names == [])
    }

    static func status(_ body: Int) -> Record {
        .status(Status(header: testHeader("ingest"), level: .info, json: String(repeating: "x", count: body)))
    }

    @Test func statusBodyLimit() throws {
        let largest = Self.status(WireFormat.maxStatusBody)
        #expect(WireFormat.encodedSize(of: largest) == 65535)
        let bytes = WireFormat.encode(largest)
        #expect(bytes.count == 65535)
        #expect(bytes[0] == 0xFF && bytes[1] == 0xFF)
        #expect(try WireFormat.decode(bytes) == largest)
        let message = BusMessage.encode(largest)
        #expect(message.count == "S.ingest ".utf8.count + 65535)
        #expect(try BusMessage.decode(message) == largest)

    }

    /// A body too long for the wire (a 70,000-character upstream message, a list of 10,000
    /// topics) becomes one that says it was cut, keeps its event, and still encodes.
    @Test func tooLongStatusBodyIsCutAndSaysSo() throws {
        let message = String(repeating: "é\"\u{1}x", count: 20_000)
        var original = JSONObject()
        original.add("event", string: "upstream_status")
        original.add("message", string: message)
        let status = Status(header: testHeader("ingest"), level: .warning, json: original.text)
        #expect(status.json.utf8.count <= WireFormat.maxStatusBody)
        #expect(status.json.utf8.count > WireFormat.maxStatusBody - 16)
        let bytes = BusMessage.encode(.status(status))
        guard case .status(let back) = try BusMessage.decode(bytes) else { Issue.record("not a status"); return }
        let body = try JSONValue.parse(back.json)
        #expect(body["event"]?.string == "upstream_status")
        #expect(body["truncated"]?.bool == true)
        #expect(body["bytes"]?.int == Int64(original.text.utf8.count))
        let head = try #require(body["head"]?.string)
        #expect(original.text.hasPrefix(head))

        let unparseable = Status(header: testHeader("ingest"), level: .info, json: String(repeating: "x", count: 70_000))
        #expect(try JSONValue.parse(unparseable.json)["event"] == nil)
        #expect(try JSONValue.parse(unparseable.json)["bytes"]?.int == 70_000)
    }

    @Test func longFieldsAreCutAndSaySo() throws {
        var object = JSONObject()
        object.add("message", string: String(repeating: "ab", count: 1000), limit: 100)
        object.add("subscriptions", strings: (0..<10_000).map { "T.S\($0)" }, limit: 1000)
        object.add("short", strings: ["T.A"], limit: 1000)
        let body = try JSONValue.parse(object.text)
        #expect(body["message"]?.string == String(repeating: "ab", count: 50) + "…")
        #expect(body["message_bytes"]?.int == 2000)
        let list = try #require(body["subscriptions"]?.array)
        #expect(list.count > 10 && list.count < 10_000)
        #expect(list.first?.string == "T.S0")
        #expect(body["subscriptions_count"]?.int == 10_000)
        #expect(body["subscriptions_truncated"]?.bool == true)
        #expect(body["short"]?.array?.count == 1 && body["short_count"] == nil)
    }

    @Test func encodeIntoFixedBuffer() throws {
        let record = Record.trade(Trade(
            header: testHeader("ABCDEFGHIJKLMNOPQRSTUVWX"), price: Price(units: 3), size: 1,
            conditions: try Conditions([1, 2, 3, 4]), tradeID: "ABCDEFGHIJKLMNOPQRSTUVWX"))
        var buffer = [UInt8](repeating: 0xCC, count: BusMessage.maxTopicSize + WireFormat.tradeSize)
        let n = buffer.withUnsafeMutableBytes { BusMessage.encode(record, into: $0) }
        #expect(Array(buffer[..<n]) == BusMessage.encode(record))
        #expect(try BusMessage.decode(Array(buffer[..<n])) == record)
    }

    /// Splits `text` and copies the parts out.
    static func split(_ text: String) throws(WireError) -> (topic: String, record: String) {
        try Array(text.utf8).withUnsafeBytes { raw in
            Result { () throws(WireError) in
                let (topic, record) = try BusMessage.split(raw)
                return (String(decoding: topic, as: UTF8.self), String(decoding: record, as: UTF8.self))
            }
        }.get()
    }

    @Test func split() throws {
        let parts = try Self.split("T.AAPL xyz")
        #expect(parts.topic == "T.AAPL")
        #expect(parts.record == "xyz")
        #expect(try Self.split("T.AAPL  x").record == " x", "only the first space splits")
        #expect(try Self.split("T.AAPL ").record == "")
        for bad in ["", " ", " T.AAPL x", "T.AAPL", String(repeating: "T", count: 40) + " x"] {
            #expect(throws: WireError.missingTopicSeparator, "\(bad)") { try Self.split(bad) }
        }
        // The topic may be up to maxTopicSize - 1 bytes.
        #expect(try Self.split(String(repeating: "T", count: 39) + " ").topic.utf8.count == 39)
    }

    @Test func conditions() throws {
        var c = Conditions()
        #expect(c.count == 0 && c.codes == [])
        for code: UInt16 in [1, 2, 3, 4] {
            let appended = c.append(code)
            #expect(appended)
        }
        let fifth = c.append(5)
        #expect(!fifth)
        #expect(c.codes == [1, 2, 3, 4])
        #expect(throws: RecordError.tooManyConditions(5)) { try Conditions([1, 2, 3, 4, 5]) }
        #expect(try Conditions([7, 0]).codes == [7, 0])
        #expect(try Conditions([7]) != Conditions([7, 0]))
    }

    @Test func recordHeaderAccess() {
        var record = Record.bar(Bar(
            header: testHeader(), open: .null, high: .null, low: .null, close: .null, volume: .nan,
            interval: .minute))
        #expect(record.kind == .bar)
        record.header.sequence = 99
        record.header.flags.insert(.revision)
        #expect(record.header.sequence == 99)
        guard case .bar(let bar) = record else { Issue.record("kind changed"); return }
        #expect(bar.header.flags == [.revision])
        #expect(bar.vwap.isNull)
    }

    /// Hand-built records of every kind round-trip, including extreme field values.
    @Test func extremesRoundTrip() throws {
        let h = RecordHeader(
            market: .futures, flags: .all, epoch: .max, sequence: .max, tsEvent: .min, tsRecv: .max,
            symbol: "ABCDEFGHIJKLMNOPQRSTUVWX")
        let records: [Record] = [
            .trade(Trade(
                header: h, price: .null, size: -0.0, upstreamSequence: .min, exchange: .max, tape: .max,
                conditions: try Conditions([.max, 0, .max, 0]), tradeID: "ABCDEFGHIJKLMNOPQRSTUVWX")),
            .trade(Trade(header: h, price: Price(raw: .max), size: .infinity)),
            .quote(Quote(
                header: h, bidPrice: Price(raw: -.max), askPrice: .null, bidSize: .greatestFiniteMagnitude,
                askSize: -.infinity, upstreamSequence: .max, bidExchange: .max, askExchange: 0,
                condition: .max, tape: .max)),
            .bar(Bar(
                header: h, open: .null, high: .null, low: .null, close: .null, vwap: .null,
                volume: .leastNonzeroMagnitude, tradeCount: .max, interval: try BarInterval(seconds: .max))),
            .status(Status(header: h, level: .error, json: "\u{0}\u{10FFFF}é")),
            .heartbeat(Heartbeat(
                header: h, published: .max, dropped: .max, startedAt: .min, topics: .max, subscriptions: .max,
                intervalMilliseconds: .max)),
        ]
        for record in records {
            let message = BusMessage.encode(record)
            #expect(try BusMessage.decode(message) == record)
            #expect(try WireFormat.decode(WireFormat.encode(record)) == record)
        }
    }

    /// NaN payloads (signalling or not) survive the round trip bit for bit.
    @Test func nanBitsPreserved() throws {
        for bits: UInt64 in [0x7FF8_0000_0000_0000, 0xFFF8_0000_0000_0000, 0x7FF0_0000_0000_0001, 0x7FFF_FFFF_FFFF_FFFF] {
            let record = Record.bar(Bar(
                header: testHeader(), open: Price(units: 1), high: Price(units: 1), low: Price(units: 1),
                close: Price(units: 1), volume: Double(bitPattern: bits), interval: .second))
            guard case .bar(let back) = try BusMessage.decode(BusMessage.encode(record)) else {
                Issue.record("not a bar"); continue
            }
            #expect(back.volume.bitPattern == bits)
        }
    }

    @Test func errorDescriptionsAndCategories() {
        let errors: [(WireError, String)] = [
            (.tooShort(3), "too_short"), (.lengthMismatch(declared: 1, actual: 2), "length_mismatch"),
            (.unsupportedVersion(2), "unsupported_version"), (.unknownKind(9), "unknown_kind"),
            (.unknownMarket(9), "unknown_market"), (.unknownFlags(0x10), "unknown_flags"),
            (.wrongSize(kind: .trade, expected: 128, actual: 120), "wrong_size"), (.badField("symbol"), "bad_field"),
            (.missingTopicSeparator, "no_topic_separator"), (.topicMismatch, "topic_mismatch"),
        ]
        for (error, category) in errors {
            #expect(error.category == category)
            #expect(!error.description.isEmpty)
        }
        #expect(WireError.wrongSize(kind: .trade, expected: 128, actual: 120).description == "trade record must be 128 bytes, not 120")
        #expect(RecordError.invalidInterval(0).description.contains("interval"))
    }
}
