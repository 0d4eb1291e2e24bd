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
        var n = writeTopic(of: record, into: buffer)
        buffer[n] = 0x20
        n += 1
        let size = WireFormat.encode(record, into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...]))
        if let stamp {
            buffer.store(UInt64(stamp.epoch), at: n + 8)
            buffer.store(stamp.sequence, at: n + 16)
        }
        return n + size
    }

    /// Encodes a message into a new array.
    public static func encode(_ record: Record) throws(RecordError) -> [UInt8] {
        let size = try maxTopicSize + WireFormat.encodedSize(of: record)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = encode(record, into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// Writes `KIND.SYMBOL` for `record` and returns its length.
    public static func writeTopic(of record: Record, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let header: RecordHeader
        var n: Int
        switch record {
        case .trade(let r): header = r.header; buffer[0] = UInt8(ascii: "T"); n = 1
        case .quote(let r): header = r.header; buffer[0] = UInt8(ascii: "Q"); n = 1
        case .status(let r): header = r.header; buffer[0] = UInt8(ascii: "S"); n = 1
        case .heartbeat(let r): header = r.header; buffer[0] = UInt8(ascii: "H"); n = 1
        case .bar(let r):
            header = r.header
            switch Topic.kind(of: r) {
            case .secondBar: buffer[0] = UInt8(ascii: "A"); n = 1
            case .minuteBar: buffer[0] = UInt8(ascii: "A"); buffer[1] = UInt8(ascii: "M"); n = 2
            default:
                buffer[0] = UInt8(ascii: "B")
                n = 1 + writeLabel(r.interval.seconds, into: buffer, at: 1)
            }
        }
        buffer[n] = UInt8(ascii: ".")
        n += 1
        return n + header.symbol.write(into: buffer, at: n)
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
        let limit = Swift.min(message.count, maxTopicSize)
        var i = 0
        while i < limit && message[i] != 0x20 { i += 1 }
        guard i < limit, i > 0 else { throw .missingTopicSeparator }
        return (UnsafeRawBufferPointer(rebasing: message[..<i]),
                UnsafeRawBufferPointer(rebasing: message[(i + 1)...]))
    }

    /// Decodes a message and checks that its topic is the one its record belongs under.
    public static func decode(_ message: UnsafeRawBufferPointer) throws(WireError) -> Record {
        let (topic, body) = try split(message)
        let record = try WireFormat.decode(body)
        var expected = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        let matches = withUnsafeMutableBytes(of: &expected) { scratch in
            let n = writeTopic(of: record, into: scratch)
            return n == topic.count && memoryEqual(scratch.baseAddress!, topic.baseAddress!, n)
        }
        guard matches else { throw .topicMismatch }
        return record
    }

    /// Decodes a message held in an array.
    public static func decode(_ message: [UInt8]) throws(WireError) -> Record {
        try message.withUnsafeBytes { bytes in
            Result { () throws(WireError) in try decode(bytes) }
        }.get()
    }
}

@inline(__always)
private func memoryEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
    for i in 0..<count where a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) {
        return false
    }
    return true
}
