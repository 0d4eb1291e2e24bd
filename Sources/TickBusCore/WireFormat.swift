/// Wire format v1: fixed-size little-endian records with a 64-byte common header.
/// `docs/wire-format.md` has the byte tables. Reserved bytes are written as zero and a decoder
/// refuses a record where they are not, so every accepted record re-encodes to the same bytes.
public enum WireFormat {
    public static let version: UInt8 = 1
    public static var headerSize: Int { HeaderLayout.size }
    public static var tradeSize: Int { TradeLayout.recordSize }
    public static var quoteSize: Int { QuoteLayout.recordSize }
    public static var barSize: Int { BarLayout.recordSize }
    public static var heartbeatSize: Int { HeartbeatLayout.recordSize }
    /// Status records: a 68-byte fixed part and the JSON body.
    public static var statusFixedSize: Int { StatusLayout.fixedSize }
    public static var maxStatusBody: Int { Int(UInt16.max) - statusFixedSize }
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
        TradeLayout.encode(r, into: buffer)
        return tradeSize
    }

    /// Encodes a quote into `buffer` (at least ``quoteSize`` bytes); returns ``quoteSize``.
    public static func encode(_ r: Quote, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        QuoteLayout.encode(r, into: buffer)
        return quoteSize
    }

    /// Encodes a bar into `buffer` (at least ``barSize`` bytes); returns ``barSize``.
    public static func encode(_ r: Bar, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        BarLayout.encode(r, into: buffer)
        return barSize
    }

    /// Encodes a status record; `buffer` must hold ``encodedSize(of:)`` bytes.
    public static func encode(_ r: Status, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var json = r.json
        return json.withUTF8 { utf8 in
            let length = statusFixedSize + utf8.count
            HeaderLayout.encode(r.header, kind: .status, length: length, into: buffer)
            StatusLayout.level.store(r.level, into: buffer)
            StatusLayout.reserved2.clear(in: buffer)
            StatusLayout.bodyLength.store(UInt16(truncatingIfNeeded: utf8.count), into: buffer)
            UnsafeMutableRawBufferPointer(rebasing: buffer[statusFixedSize..<length])
                .copyMemory(from: UnsafeRawBufferPointer(utf8))
            return length
        }
    }

    /// Encodes a heartbeat into `buffer` (at least ``heartbeatSize`` bytes).
    public static func encode(_ r: Heartbeat, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        HeartbeatLayout.encode(r, into: buffer)
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
        try HeaderLayout.decode(bytes)
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
        try TradeLayout.decode(bytes, header: header)
    }

    /// Decodes the body of a quote whose header ``decodeHeader(_:)`` returned.
    public static func decodeQuote(_ bytes: UnsafeRawBufferPointer, header: RecordHeader) throws(WireError) -> Quote {
        try QuoteLayout.decode(bytes, header: header)
    }

    /// Decodes the body of a bar whose header ``decodeHeader(_:)`` returned.
    public static func decodeBar(_ bytes: UnsafeRawBufferPointer, header: RecordHeader) throws(WireError) -> Bar {
        try BarLayout.decode(bytes, header: header)
    }

    /// Decodes the body of a status record whose header ``decodeHeader(_:)`` returned.
    public static func decodeStatus(_ bytes: UnsafeRawBufferPointer, header: RecordHeader) throws(WireError) -> Status {
        let length = bytes.count
        guard length >= statusFixedSize else { throw .wrongSize(kind: .status, expected: statusFixedSize, actual: length) }
        let level = try StatusLayout.level.load(bytes)
        try StatusLayout.reserved2.check(bytes)
        let body = Int(try StatusLayout.bodyLength.load(bytes))
        guard statusFixedSize + body == length else {
            throw .lengthMismatch(declared: statusFixedSize + body, actual: length)
        }
        guard let json = String(validating: UnsafeRawBufferPointer(rebasing: bytes[statusFixedSize...]), as: UTF8.self)
        else { throw .badField("status body") }
        return Status(header: header, level: level, json: json)
    }

    /// Decodes the body of a heartbeat whose header ``decodeHeader(_:)`` returned.
    public static func decodeHeartbeat(_ bytes: UnsafeRawBufferPointer, header: RecordHeader) throws(WireError) -> Heartbeat {
        try HeartbeatLayout.decode(bytes, header: header)
    }
}

extension HeaderLayout {
    /// Writes the header of a record of `kind` and `length` bytes. The first eight bytes
    /// (length, version, kind, market, flags, reserved) go in one store, and so do epoch and
    /// its reserved word.
    @inline(__always)
    static func encode(_ h: RecordHeader, kind: RecordKind, length: Int, into buffer: UnsafeMutableRawBufferPointer) {
        let first = Self.length.inWord(UInt16(truncatingIfNeeded: length), at: 0) | version.inWord(WireFormat.version, at: 0)
            | Self.kind.inWord(kind.rawValue, at: 0) | market.inWord(h.market.rawValue, at: 0)
            | flags.inWord(h.flags.rawValue, at: 0)
        buffer.store(first, at: 0)
        buffer.store(epoch.inWord(h.epoch, at: 8), at: 8)
        sequence.store(h.sequence, into: buffer)
        tsEvent.store(h.tsEvent, into: buffer)
        tsRecv.store(h.tsRecv, into: buffer)
        symbol.store(h.symbol, into: buffer)
    }

    /// Checks the header of exactly `bytes`, in the order docs/wire-format.md §5 gives, and
    /// decodes it.
    @inline(__always)
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> (RecordKind, RecordHeader) {
        guard bytes.count >= size else { throw .tooShort(bytes.count) }
        let first = bytes.load(UInt64.self, at: 0)
        let declared = Int(length.fromWord(first, at: 0))
        guard declared == bytes.count else { throw .lengthMismatch(declared: declared, actual: bytes.count) }
        let versionByte = version.fromWord(first, at: 0)
        guard versionByte == WireFormat.version else { throw .unsupportedVersion(versionByte) }
        let kindByte = Self.kind.fromWord(first, at: 0)
        guard let kind = RecordKind(rawValue: kindByte) else { throw .unknownKind(kindByte) }
        let marketByte = Self.market.fromWord(first, at: 0)
        guard let market = Market(rawValue: marketByte) else { throw .unknownMarket(marketByte) }
        let flags = RecordFlags(rawValue: Self.flags.fromWord(first, at: 0))
        guard RecordFlags.all.isSuperset(of: flags) else { throw .unknownFlags(flags.rawValue) }
        let epochWord = bytes.load(UInt64.self, at: 8)
        guard reserved0.isZero(inWord: first, at: 0), reserved1.isZero(inWord: epochWord, at: 8) else {
            throw .badField("reserved")
        }
        let symbol = try Self.symbol.load(bytes)
        guard !symbol.isEmpty else { throw .badField("symbol") }
        return (kind, RecordHeader(
            market: market, flags: flags, epoch: epoch.fromWord(epochWord, at: 8),
            sequence: try sequence.load(bytes), tsEvent: try tsEvent.load(bytes),
            tsRecv: try tsRecv.load(bytes), symbol: symbol))
    }
}
