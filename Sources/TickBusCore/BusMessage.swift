/// A bus message: one ZeroMQ frame holding `TOPIC`, one space, and the wire-format record.
public enum BusMessage {
    /// Room for the longest topic: `B` + a label + `.` + a 24-byte symbol + the space.
    public static let maxTopicSize = 40
    /// Room for any message.
    public static let maxSize = maxTopicSize + WireFormat.maxRecordSize

    /// Writes the topic of `record`, a space and the record into `buffer`; returns the length.
    /// `buffer` needs ``maxTopicSize`` plus the record's encoded size. Does not allocate.
    /// A publisher passes `stamp` to write its epoch and sequence number in place of the record's.
    public static func encode(
        _ record: Record, into buffer: UnsafeMutableRawBufferPointer, stamp: (epoch: UInt32, sequence: UInt64)? = nil
    ) -> Int {
        // One switch: topic and record written from the same payload.
        var n: Int
        let size: Int
        switch record {
        case .trade(let r):
            n = writeTopic(code: UInt8(ascii: "T"), symbol: r.header.symbol, into: buffer) + 1
            size = WireFormat.encode(r, into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...]))
        case .quote(let r):
            n = writeTopic(code: UInt8(ascii: "Q"), symbol: r.header.symbol, into: buffer) + 1
            size = WireFormat.encode(r, into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...]))
        case .bar(let r):
            n = writeTopic(of: r, into: buffer) + 1
            size = WireFormat.encode(r, into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...]))
        case .status(let r):
            n = writeTopic(code: UInt8(ascii: "S"), symbol: r.header.symbol, into: buffer) + 1
            size = WireFormat.encode(r, into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...]))
        case .heartbeat(let r):
            n = writeTopic(code: UInt8(ascii: "H"), symbol: r.header.symbol, into: buffer) + 1
            size = WireFormat.encode(r, into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...]))
        }
        buffer[n - 1] = 0x20
        if let stamp {
            buffer.store(UInt64(stamp.epoch), at: n + 8)
            buffer.store(stamp.sequence, at: n + 16)
        }
        return n + size
    }

    /// Encodes a message into a new array.
    public static func encode(_ record: Record) -> [UInt8] {
        let size = maxTopicSize + WireFormat.encodedSize(of: record)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = encode(record, into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// Writes `KIND.SYMBOL` for `record` and returns its length.
    public static func writeTopic(of record: Record, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        switch record {
        case .trade(let r): writeTopic(code: UInt8(ascii: "T"), symbol: r.header.symbol, into: buffer)
        case .quote(let r): writeTopic(code: UInt8(ascii: "Q"), symbol: r.header.symbol, into: buffer)
        case .status(let r): writeTopic(code: UInt8(ascii: "S"), symbol: r.header.symbol, into: buffer)
        case .heartbeat(let r): writeTopic(code: UInt8(ascii: "H"), symbol: r.header.symbol, into: buffer)
        case .bar(let r): writeTopic(of: r, into: buffer)
        }
    }

    @inline(__always)
    private static func writeTopic(code: UInt8, symbol: Symbol, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        buffer[0] = code
        buffer[1] = UInt8(ascii: ".")
        return 2 + symbol.write(into: buffer, at: 2)
    }

    private static func writeTopic(of bar: Bar, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var n: Int
        switch Topic.kind(of: bar) {
        case .secondBar: buffer[0] = UInt8(ascii: "A"); n = 1
        case .minuteBar: buffer[0] = UInt8(ascii: "A"); buffer[1] = UInt8(ascii: "M"); n = 2
        default:
            buffer[0] = UInt8(ascii: "B")
            n = 1 + writeLabel(bar.interval.seconds, into: buffer, at: 1)
        }
        buffer[n] = UInt8(ascii: ".")
        n += 1
        return n + bar.header.symbol.write(into: buffer, at: n)
    }

    private static func writeLabel(_ seconds: UInt32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var value = seconds
        var unit = UInt8(ascii: "s")
        if seconds % 86400 == 0 { value = seconds / 86400; unit = UInt8(ascii: "d") }
        else if seconds % 3600 == 0 { value = seconds / 3600; unit = UInt8(ascii: "h") }
        else if seconds % 60 == 0 { value = seconds / 60; unit = UInt8(ascii: "m") }
        let n = writeDecimal(UInt64(value), into: buffer, at: offset)
        buffer[offset + n] = unit
        return n + 1
    }

    /// Splits a message at the first space into topic bytes and record bytes.
    public static func split(_ message: UnsafeRawBufferPointer) throws(WireError)
        -> (topic: UnsafeRawBufferPointer, record: UnsafeRawBufferPointer)
    {
        let i = firstSpace(message)
        guard i > 0 else { throw .missingTopicSeparator }
        return (UnsafeRawBufferPointer(rebasing: message[..<i]),
                UnsafeRawBufferPointer(rebasing: message[(i + 1)...]))
    }

    /// The index of the first space within the first ``maxTopicSize`` bytes, or -1.
    @inline(__always)
    private static func firstSpace(_ message: UnsafeRawBufferPointer) -> Int {
        let limit = Swift.min(message.count, maxTopicSize)
        var i = 0
        // Eight bytes at a time: a byte equal to 0x20 becomes zero after the xor; the lowest
        // zero byte of a word is found exactly by the classic has-zero-byte test.
        while i + 8 <= limit {
            let word = UInt64(littleEndian: message.loadUnaligned(fromByteOffset: i, as: UInt64.self)) ^ 0x2020_2020_2020_2020
            let zeros = (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
            if zeros != 0 { return i + zeros.trailingZeroBitCount / 8 }
            i += 8
        }
        while i < limit {
            if message[i] == 0x20 { return i }
            i += 1
        }
        return -1
    }

    /// Decodes a message and checks that its topic is the one its record belongs under.
    public static func decode(_ message: UnsafeRawBufferPointer) throws(WireError) -> Record {
        var topic = Topic(kind: .trade, symbol: Symbol())
        var header = RecordHeader(tsEvent: 0, tsRecv: 0, symbol: Symbol())
        return try decode(message, topic: &topic, header: &header)
    }

    /// Decodes a message and also sets the record's topic and header, each worked out once
    /// (what a subscriber needs to check sequence numbers without switching on the record again).
    public static func decode(
        _ message: UnsafeRawBufferPointer, topic: inout Topic, header: inout RecordHeader
    ) throws(WireError) -> Record {
        let (topicBytes, body) = try split(message)
        let kind: RecordKind
        (kind, header) = try WireFormat.decodeHeader(body)
        var expected = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        let record: Record
        let topicKind: TopicKind
        let length: Int
        switch kind {
        case .trade:
            record = .trade(try WireFormat.decodeTrade(body, header: header))
            topicKind = .trade
            length = withUnsafeMutableBytes(of: &expected) { writeTopic(code: UInt8(ascii: "T"), symbol: header.symbol, into: $0) }
        case .quote:
            record = .quote(try WireFormat.decodeQuote(body, header: header))
            topicKind = .quote
            length = withUnsafeMutableBytes(of: &expected) { writeTopic(code: UInt8(ascii: "Q"), symbol: header.symbol, into: $0) }
        case .status:
            record = .status(try WireFormat.decodeStatus(body, header: header))
            topicKind = .status
            length = withUnsafeMutableBytes(of: &expected) { writeTopic(code: UInt8(ascii: "S"), symbol: header.symbol, into: $0) }
        case .heartbeat:
            record = .heartbeat(try WireFormat.decodeHeartbeat(body, header: header))
            topicKind = .heartbeat
            length = withUnsafeMutableBytes(of: &expected) { writeTopic(code: UInt8(ascii: "H"), symbol: header.symbol, into: $0) }
        case .bar:
            let bar = try WireFormat.decodeBar(body, header: header)
            record = .bar(bar)
            topicKind = Topic.kind(of: bar)
            length = withUnsafeMutableBytes(of: &expected) { writeTopic(of: bar, into: $0) }
        }
        let matches = length == topicBytes.count && withUnsafeBytes(of: &expected) { bytesEqual($0, topicBytes, count: length) }
        guard matches else { throw .topicMismatch }
        topic = Topic(kind: topicKind, symbol: header.symbol)
        return record
    }

    /// Decodes a message held in an array.
    public static func decode(_ message: [UInt8]) throws(WireError) -> Record {
        try message.withUnsafeBytes { bytes in
            Result { () throws(WireError) in try decode(bytes) }
        }.get()
    }
}

/// Whether the first `count` bytes of `a` and `b` are equal, compared eight at a time.
@inline(__always)
private func bytesEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, count: Int) -> Bool {
    var i = 0
    while i + 8 <= count {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
            return false
        }
        i += 8
    }
    while i < count {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}
