/// Wire format v1: fixed-size little-endian records with a 64-byte common header.
/// `docs/wire-format.md` has the byte tables. Reserved bytes are written as zero and a decoder
/// refuses a record where they are not, so every accepted record re-encodes to the same bytes.
public enum WireFormat {
    public static let version: UInt8 = 1
    public static let headerSize = 64
    public static let tradeSize = 128
    public static let quoteSize = 112
    public static let barSize = 128
    public static let heartbeatSize = 104
    /// Status records: a 68-byte fixed part and the JSON body.
    public static let statusFixedSize = 68
    public static let maxStatusBody = Int(UInt16.max) - statusFixedSize
    /// The largest record: a status with the longest body.
    public static let maxRecordSize = Int(UInt16.max)

    // MARK: Encoding

    /// Encodes `record` into `buffer` and returns the bytes written.
    /// The buffer must hold ``encodedSize(of:)`` bytes.
    public static func encode(_ record: Record, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        switch record {
        case .trade(let r): encode(r, into: buffer)
        case .quote(let r): encode(r, into: buffer)
        case .bar(let r): encode(r, into: buffer)
        case .status(let r): encode(r, into: buffer)
        case .heartbeat(let r): encode(r, into: buffer)
        }
    }

    /// Encodes a trade into `buffer` (at least ``tradeSize`` bytes); returns ``tradeSize``.
    public static func encode(_ r: Trade, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        writeHeader(r.header, kind: .trade, length: tradeSize, into: buffer)
        buffer.store(r.price.raw, at: 64)
        buffer.store(r.size.bitPattern, at: 72)
        buffer.store(r.upstreamSequence, at: 80)
        buffer.store(r.exchange, at: 88)
        buffer.store(r.tape, at: 90)
        buffer.store(UInt8(r.conditions.count), at: 91)
        buffer.store(r.conditions.packed, at: 92)
        buffer.store(UInt32(0), at: 100)
        r.tradeID.writeField(into: buffer, at: 104)
        return tradeSize
    }

    /// Encodes a quote into `buffer` (at least ``quoteSize`` bytes); returns ``quoteSize``.
    public static func encode(_ r: Quote, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        writeHeader(r.header, kind: .quote, length: quoteSize, into: buffer)
        buffer.store(r.bidPrice.raw, at: 64)
        buffer.store(r.askPrice.raw, at: 72)
        buffer.store(r.bidSize.bitPattern, at: 80)
        buffer.store(r.askSize.bitPattern, at: 88)
        buffer.store(r.upstreamSequence, at: 96)
        buffer.store(r.bidExchange, at: 104)
        buffer.store(r.askExchange, at: 106)
        buffer.store(r.condition, at: 108)
        buffer.store(r.tape, at: 110)
        buffer.store(UInt8(0), at: 111)
        return quoteSize
    }

    /// Encodes a bar into `buffer` (at least ``barSize`` bytes); returns ``barSize``.
    public static func encode(_ r: Bar, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        writeHeader(r.header, kind: .bar, length: barSize, into: buffer)
        buffer.store(r.open.raw, at: 64)
        buffer.store(r.high.raw, at: 72)
        buffer.store(r.low.raw, at: 80)
        buffer.store(r.close.raw, at: 88)
        buffer.store(r.vwap.raw, at: 96)
        buffer.store(r.volume.bitPattern, at: 104)
        buffer.store(r.tradeCount, at: 112)
        buffer.store(r.interval.seconds, at: 120)
        buffer.store(UInt32(0), at: 124)
        return barSize
    }

    /// Encodes a status record; `buffer` must hold ``encodedSize(of:)`` bytes.
    public static func encode(_ r: Status, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var json = r.json
        return json.withUTF8 { utf8 in
            let length = statusFixedSize + utf8.count
            writeHeader(r.header, kind: .status, length: length, into: buffer)
            buffer.store(r.level.rawValue, at: 64)
            buffer.store(UInt8(0), at: 65)
            buffer.store(UInt16(utf8.count), at: 66)
            UnsafeMutableRawBufferPointer(rebasing: buffer[statusFixedSize..<length])
                .copyMemory(from: UnsafeRawBufferPointer(utf8))
            return length
        }
    }

    /// Encodes a heartbeat into `buffer` (at least ``heartbeatSize`` bytes).
    public static func encode(_ r: Heartbeat, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        writeHeader(r.header, kind: .heartbeat, length: heartbeatSize, into: buffer)
        buffer.store(r.published, at: 64)
        buffer.store(r.dropped, at: 72)
        buffer.store(r.startedAt, at: 80)
        buffer.store(r.topics, at: 88)
        buffer.store(r.subscriptions, at: 92)
        buffer.store(r.intervalMilliseconds, at: 96)
        buffer.store(UInt32(0), at: 100)
        return heartbeatSize
    }

    /// The encoded size of `record`.
    public static func encodedSize(of record: Record) -> Int {
        switch record {
        case .trade: return tradeSize
        case .quote: return quoteSize
        case .bar: return barSize
        case .heartbeat: return heartbeatSize
        case .status(let r): return statusFixedSize + r.json.utf8.count
        }
    }

    /// Encodes `record` into a new array.
    public static func encode(_ record: Record) -> [UInt8] {
        let size = encodedSize(of: record)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = encode(record, into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    @inline(__always)
    private static func writeHeader(_ h: RecordHeader, kind: RecordKind, length: Int, into buffer: UnsafeMutableRawBufferPointer) {
        // length, version, kind, market, flags, reserved u16: one little-endian word.
        let first = UInt64(length) | UInt64(version) << 16 | UInt64(kind.rawValue) << 24
            | UInt64(h.market.rawValue) << 32 | UInt64(h.flags.rawValue) << 40
        buffer.store(first, at: 0)
        buffer.store(UInt64(h.epoch), at: 8)
        buffer.store(h.sequence, at: 16)
        buffer.store(h.tsEvent, at: 24)
        buffer.store(h.tsRecv, at: 32)
        h.symbol.writeField(into: buffer, at: 40)
    }

    // MARK: Decoding

    /// Decodes one record from exactly `bytes`. Never traps: anything malformed throws.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> Record {
        let (kind, header) = try decodeHeader(bytes)
        switch kind {
        case .trade: return .trade(try decodeTrade(bytes, header: header))
        case .quote: return .quote(try decodeQuote(bytes, header: header))
        case .bar: return .bar(try decodeBar(bytes, header: header))
        case .status: return .status(try decodeStatus(bytes, header: header))
        case .heartbeat: return .heartbeat(try decodeHeartbeat(bytes, header: header))
        }
    }

    /// Checks the common header of exactly `bytes` (length, version, kind, market, flags,
    /// reserved bytes, symbol) and decodes it.
    public static func decodeHeader(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> (RecordKind, RecordHeader) {
        guard bytes.count >= headerSize else { throw .tooShort(bytes.count) }
        let first = bytes.load(UInt64.self, at: 0)
        let length = Int(first & 0xFFFF)
        guard length == bytes.count else { throw .lengthMismatch(declared: length, actual: bytes.count) }
        let version = UInt8(truncatingIfNeeded: first >> 16)
        guard version == WireFormat.version else { throw .unsupportedVersion(version) }
        let kindByte = UInt8(truncatingIfNeeded: first >> 24)
        guard let kind = RecordKind(rawValue: kindByte) else { throw .unknownKind(kindByte) }
        let marketByte = UInt8(truncatingIfNeeded: first >> 32)
        guard let market = Market(rawValue: marketByte) else { throw .unknownMarket(marketByte) }
        let flags = RecordFlags(rawValue: UInt8(truncatingIfNeeded: first >> 40))
        guard RecordFlags.all.isSuperset(of: flags) else { throw .unknownFlags(flags.rawValue) }
        let epochWord = bytes.load(UInt64.self, at: 8)
        guard first >> 48 == 0, epochWord >> 32 == 0 else { throw .badField("reserved") }
        let symbol = try fixedString(bytes, at: 40, field: "symbol")
        guard !symbol.isEmpty else { throw .badField("symbol") }
        return (kind, RecordHeader(
            market: market, flags: flags, epoch: UInt32(truncatingIfNeeded: epochWord),
            sequence: bytes.load(UInt64.self, at: 16), tsEvent: bytes.load(Int64.self, at: 24),
            tsRecv: bytes.load(Int64.self, at: 32), symbol: symbol))
    }

    /// Decodes a trade record, failing with ``WireError/unexpectedKind(_:)`` for any other kind.
    /// For readers of one kind only: it skips the ``Record`` enum.
    public static func decodeTrade(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> Trade {
        let (kind, header) = try decodeHeader(bytes)
        guard kind == .trade else { throw .unexpectedKind(kind) }
        return try decodeTrade(bytes, header: header)
    }

    /// Decodes the body of a trade whose header ``decodeHeader(_:)`` returned.
    public static func decodeTrade(_ bytes: UnsafeRawBufferPointer, header: RecordHeader) throws(WireError) -> Trade {
        try expect(bytes.count, tradeSize, .trade)
        guard let conditions = Conditions(
            packed: bytes.load(UInt64.self, at: 92), count: Int(bytes.load(UInt8.self, at: 91)))
        else { throw .badField("conditions") }
        try reservedZero(bytes.load(UInt32.self, at: 100))
        return Trade(
            header: header, price: Price(raw: bytes.load(Int64.self, at: 64)),
            size: Double(bitPattern: bytes.load(UInt64.self, at: 72)),
            upstreamSequence: bytes.load(Int64.self, at: 80), exchange: bytes.load(UInt16.self, at: 88),
            tape: bytes.load(UInt8.self, at: 90), conditions: conditions,
            tradeID: try fixedString(bytes, at: 104, field: "trade id"))
    }

    /// Decodes the body of a quote whose header ``decodeHeader(_:)`` returned.
    public static func decodeQuote(_ bytes: UnsafeRawBufferPointer, header: RecordHeader) throws(WireError) -> Quote {
        try expect(bytes.count, quoteSize, .quote)
        try reservedZero(bytes.load(UInt8.self, at: 111))
        return Quote(
            header: header, bidPrice: Price(raw: bytes.load(Int64.self, at: 64)),
            askPrice: Price(raw: bytes.load(Int64.self, at: 72)),
            bidSize: Double(bitPattern: bytes.load(UInt64.self, at: 80)),
            askSize: Double(bitPattern: bytes.load(UInt64.self, at: 88)),
            upstreamSequence: bytes.load(Int64.self, at: 96), bidExchange: bytes.load(UInt16.self, at: 104),
            askExchange: bytes.load(UInt16.self, at: 106), condition: bytes.load(UInt16.self, at: 108),
            tape: bytes.load(UInt8.self, at: 110))
    }

    /// Decodes the body of a bar whose header ``decodeHeader(_:)`` returned.
    public static func decodeBar(_ bytes: UnsafeRawBufferPointer, header: RecordHeader) throws(WireError) -> Bar {
        try expect(bytes.count, barSize, .bar)
        try reservedZero(bytes.load(UInt32.self, at: 124))
        guard let interval = try? BarInterval(seconds: bytes.load(UInt32.self, at: 120)) else {
            throw .badField("interval")
        }
        return Bar(
            header: header, open: Price(raw: bytes.load(Int64.self, at: 64)),
            high: Price(raw: bytes.load(Int64.self, at: 72)), low: Price(raw: bytes.load(Int64.self, at: 80)),
            close: Price(raw: bytes.load(Int64.self, at: 88)), vwap: Price(raw: bytes.load(Int64.self, at: 96)),
            volume: Double(bitPattern: bytes.load(UInt64.self, at: 104)),
            tradeCount: bytes.load(UInt64.self, at: 112), interval: interval)
    }

    /// Decodes the body of a status record whose header ``decodeHeader(_:)`` returned.
    public static func decodeStatus(_ bytes: UnsafeRawBufferPointer, header: RecordHeader) throws(WireError) -> Status {
        let length = bytes.count
        guard length >= statusFixedSize else { throw .wrongSize(kind: .status, expected: statusFixedSize, actual: length) }
        guard let level = StatusLevel(rawValue: bytes.load(UInt8.self, at: 64)) else { throw .badField("status level") }
        try reservedZero(bytes.load(UInt8.self, at: 65))
        let body = Int(bytes.load(UInt16.self, at: 66))
        guard statusFixedSize + body == length else {
            throw .lengthMismatch(declared: statusFixedSize + body, actual: length)
        }
        guard let json = String(validating: UnsafeRawBufferPointer(rebasing: bytes[statusFixedSize...]), as: UTF8.self)
        else { throw .badField("status body") }
        return Status(header: header, level: level, json: json)
    }

    /// Decodes the body of a heartbeat whose header ``decodeHeader(_:)`` returned.
    public static func decodeHeartbeat(_ bytes: UnsafeRawBufferPointer, header: RecordHeader) throws(WireError) -> Heartbeat {
        try expect(bytes.count, heartbeatSize, .heartbeat)
        try reservedZero(bytes.load(UInt32.self, at: 100))
        return Heartbeat(
            header: header, published: bytes.load(UInt64.self, at: 64),
            dropped: bytes.load(UInt64.self, at: 72), startedAt: bytes.load(Int64.self, at: 80),
            topics: bytes.load(UInt32.self, at: 88), subscriptions: bytes.load(UInt32.self, at: 92),
            intervalMilliseconds: bytes.load(UInt32.self, at: 96))
    }

    @inline(__always)
    private static func expect(_ length: Int, _ size: Int, _ kind: RecordKind) throws(WireError) {
        guard length == size else { throw .wrongSize(kind: kind, expected: size, actual: length) }
    }

    @inline(__always)
    private static func reservedZero<T: FixedWidthInteger>(_ value: T) throws(WireError) {
        guard value == 0 else { throw .badField("reserved") }
    }

    @inline(__always)
    private static func fixedString(_ bytes: UnsafeRawBufferPointer, at offset: Int, field: String) throws(WireError) -> FixedString {
        do {
            return try FixedString(field: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + FixedString.capacity]))
        } catch {
            throw .badField(field)
        }
    }
}
