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
            n = Topic(kind: .trade, symbol: r.header.symbol).write(into: buffer) + 1
            size = WireFormat.encode(r, into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...]))
        case .quote(let r):
            n = Topic(kind: .quote, symbol: r.header.symbol).write(into: buffer) + 1
            size = WireFormat.encode(r, into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...]))
        case .bar(let r):
            n = Topic(kind: Topic.kind(of: r), symbol: r.header.symbol).write(into: buffer) + 1
            size = WireFormat.encode(r, into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...]))
        case .status(let r):
            n = Topic(kind: .status, symbol: r.header.symbol).write(into: buffer) + 1
            size = WireFormat.encode(r, into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...]))
        case .heartbeat(let r):
            n = Topic(kind: .heartbeat, symbol: r.header.symbol).write(into: buffer) + 1
            size = WireFormat.encode(r, into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...]))
        }
        buffer[n - 1] = 0x20
        if let stamp {
            let header = UnsafeMutableRawBufferPointer(rebasing: buffer[n...])
            HeaderLayout.epoch.store(stamp.epoch, into: header)
            HeaderLayout.sequence.store(stamp.sequence, into: header)
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
        Topic(of: record).write(into: buffer)
    }

    /// The topic and the publisher's stamp of a message, read without decoding the record; nil
    /// when it has no topic or its record is shorter than a header.
    public static func stamp(of message: UnsafeRawBufferPointer)
        -> (topic: UnsafeRawBufferPointer, epoch: UInt32, sequence: UInt64, tsRecv: Int64)?
    {
        guard let (topic, record) = try? split(message), record.count >= HeaderLayout.size,
              let epoch = try? HeaderLayout.epoch.load(record), let sequence = try? HeaderLayout.sequence.load(record),
              let tsRecv = try? HeaderLayout.tsRecv.load(record)
        else { return nil }
        return (topic, epoch, sequence, tsRecv)
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
        let record: Record
        let topicKind: TopicKind
        switch kind {
        case .trade:
            record = .trade(try WireFormat.decodeTrade(body, header: header))
            topicKind = .trade
        case .quote:
            record = .quote(try WireFormat.decodeQuote(body, header: header))
            topicKind = .quote
        case .status:
            record = .status(try WireFormat.decodeStatus(body, header: header))
            topicKind = .status
        case .heartbeat:
            record = .heartbeat(try WireFormat.decodeHeartbeat(body, header: header))
            topicKind = .heartbeat
        case .bar:
            let bar = try WireFormat.decodeBar(body, header: header)
            record = .bar(bar)
            topicKind = Topic.kind(of: bar)
        }
        let decoded = Topic(kind: topicKind, symbol: header.symbol)
        var expected = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        let length = withUnsafeMutableBytes(of: &expected) { decoded.write(into: $0) }
        let matches = length == topicBytes.count && withUnsafeBytes(of: &expected) { bytesEqual($0, topicBytes, count: length) }
        guard matches else { throw .topicMismatch }
        topic = decoded
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
