import TickBusCore

/// The replay protocol's messages (docs/replay.md): a client's DEALER talks to a publisher's
/// ROUTER; every message is two frames, a command word and its body (little-endian integers).
public enum ReplayCommand: String, Sendable, CaseIterable {
    /// Client: start a replay (body: ``ReplayRequest``); replaces a replay the client had.
    case replay = "REPLAY"
    /// Client: send this many more batches (body: u32).
    case credit = "CREDIT"
    /// Client: stop the replay (empty body).
    case cancel = "CANCEL"
    /// Server: messages in the journal's framing (a u32 length and a bus message, back to back).
    case batch = "BATCH"
    /// Server: sequence numbers the journal does not hold (body: ``ReplayHole``).
    case hole = "HOLE"
    /// Server: the replay reached the journal's head and is over (body: ``ReplayEnd``).
    case end = "END"
    /// Server: the replay cannot go on (body: u16 ``ReplayFailure`` code, then UTF-8 text).
    case error = "ERROR"

    public var frame: [UInt8] { Array(rawValue.utf8) }

    public init?(frame: UnsafeRawBufferPointer) {
        self.init(rawValue: String(decoding: frame, as: UTF8.self))
    }
}

/// A replay request: which topics, from where, and how many batches may be in flight.
public struct ReplayRequest: Sendable, Equatable {
    /// Topic filters, the bus's prefix rules; empty: everything.
    public var filters: [TopicFilter]
    public var start: JournalStart
    /// Batches the server may send before it hears more credit.
    public var credit: UInt32

    public static let version: UInt16 = 1
    /// At most this many filters and positions in one request.
    public static let maxFilters = 4096
    public static let maxPositions = 1 << 20

    public init(filters: [TopicFilter] = [], start: JournalStart, credit: UInt32 = 16) {
        self.filters = filters
        self.start = start
        self.credit = credit
    }

    /// The body: u16 version, u16 start (0 beginning, 1 time, 2 after), u32 credit, i64 time
    /// (start 1: the time; start 2: not before), u32 epoch; u16 filter count and each filter as u8 length and prefix bytes; u32 position
    /// count and each as u8 length, topic bytes and u64 last sequence.
    public func encoded() -> [UInt8] {
        var out = ByteWriter()
        out.append(Self.version)
        switch start {
        case .beginning:
            out.append(UInt16(0))
        case .time:
            out.append(UInt16(1))
        case .after:
            out.append(UInt16(2))
        }
        out.append(credit)
        switch start {
        case .beginning: out.append(Int64(0))
        case .time(let t): out.append(t)
        case .after(_, _, let notBefore): out.append(notBefore)
        }
        if case .after(let epoch, _, _) = start { out.append(epoch) } else { out.append(UInt32(0)) }
        out.append(UInt16(clamping: filters.count))
        for filter in filters.prefix(Int(UInt16.max)) { out.appendShort(filter.prefix) }
        if case .after(_, let sequences, _) = start {
            out.append(UInt32(clamping: sequences.count))
            for (topic, sequence) in sequences.sorted(by: { $0.key.description < $1.key.description }) {
                out.appendShort(Array(topic.description.utf8))
                out.append(sequence)
            }
        } else {
            out.append(UInt32(0))
        }
        return out.bytes
    }

    public init(decoding body: UnsafeRawBufferPointer) throws(ReplayProtocolError) {
        var reader = ByteReader(body)
        let version: UInt16 = try reader.read()
        guard version == Self.version else { throw ReplayProtocolError("replay request version \(version), this server speaks \(Self.version)") }
        let kind: UInt16 = try reader.read()
        credit = try reader.read()
        let time: Int64 = try reader.read()
        let epoch: UInt32 = try reader.read()
        let filterCount = Int(try reader.read() as UInt16)
        guard filterCount <= Self.maxFilters else { throw ReplayProtocolError("\(filterCount) filters (at most \(Self.maxFilters))") }
        filters = []
        for _ in 0..<filterCount {
            let prefix = try reader.readShort()
            let text = String(decoding: prefix, as: UTF8.self)
            do {
                // A prefix on the wire is what TopicFilter made: an exact topic ends with a space.
                filters.append(text.hasSuffix(" ") ? TopicFilter(exactly: try Topic(parsing: text.dropLast())) : try TopicFilter(text.isEmpty ? "" : text + "*"))
            } catch {
                throw ReplayProtocolError("filter \"\(text)\": \(error)")
            }
        }
        let positionCount = Int(try reader.read() as UInt32)
        guard positionCount <= Self.maxPositions else { throw ReplayProtocolError("\(positionCount) positions (at most \(Self.maxPositions))") }
        var sequences: [Topic: UInt64] = [:]
        for _ in 0..<positionCount {
            let text = String(decoding: try reader.readShort(), as: UTF8.self)
            let sequence: UInt64 = try reader.read()
            do {
                sequences[try Topic(parsing: text)] = sequence
            } catch {
                throw ReplayProtocolError("position topic \"\(text)\": \(error)")
            }
        }
        guard reader.isAtEnd else { throw ReplayProtocolError("\(reader.remaining) bytes after the request") }
        switch kind {
        case 0: start = .beginning
        case 1: start = .time(time)
        case 2: start = .after(epoch: epoch, sequences: sequences, notBefore: time)
        default: throw ReplayProtocolError("unknown start \(kind)")
        }
        guard kind == 2 || positionCount == 0 else { throw ReplayProtocolError("positions given without a start after an epoch") }
    }
}

/// Sequence numbers a replay cannot give: the journal's hole ranges on the replay's topics.
public struct ReplayHole: Sendable, Equatable {
    public var epoch: UInt32
    public var reason: JournalHoleReason?
    public var ranges: [JournalHoles.Range]

    public init(epoch: UInt32, reason: JournalHoleReason?, ranges: [JournalHoles.Range]) {
        self.epoch = epoch
        self.reason = reason
        self.ranges = ranges
    }

    /// u32 epoch, u16 reason (0 unknown), u32 range count, then each range as in a hole block:
    /// u16 topic length, topic, u64 first, u64 last.
    public func encoded() -> [UInt8] {
        var out = ByteWriter()
        out.append(epoch)
        out.append(reason?.rawValue ?? 0)
        out.append(UInt32(clamping: ranges.count))
        for range in ranges {
            let topic = Array(range.topic.utf8.prefix(Int(UInt16.max)))
            out.append(UInt16(topic.count))
            out.bytes += topic
            out.append(range.first)
            out.append(range.last)
        }
        return out.bytes
    }

    public init(decoding body: UnsafeRawBufferPointer) throws(ReplayProtocolError) {
        var reader = ByteReader(body)
        epoch = try reader.read()
        reason = JournalHoleReason(rawValue: try reader.read())
        let count = Int(try reader.read() as UInt32)
        ranges = []
        for _ in 0..<count {
            let size = Int(try reader.read() as UInt16)
            let topic = String(decoding: try reader.take(size), as: UTF8.self)
            let first: UInt64 = try reader.read()
            let last: UInt64 = try reader.read()
            guard first <= last else { throw ReplayProtocolError("hole range of \(topic) ends before it starts") }
            ranges.append(.init(topic: topic, first: first, last: last))
        }
        guard reader.isAtEnd else { throw ReplayProtocolError("\(reader.remaining) bytes after the hole") }
    }
}

/// The end of a replay: the journal's head was reached, live takes over.
public struct ReplayEnd: Sendable, Equatable {
    /// Messages the replay sent.
    public var messages: UInt64
    /// When the last block read was handed to the journal's writer (ns UTC; 0: none).
    public var headTime: Int64

    public init(messages: UInt64, headTime: Int64) {
        self.messages = messages
        self.headTime = headTime
    }

    /// u64 messages, i64 head time.
    public func encoded() -> [UInt8] {
        var out = ByteWriter()
        out.append(messages)
        out.append(headTime)
        return out.bytes
    }

    public init(decoding body: UnsafeRawBufferPointer) throws(ReplayProtocolError) {
        var reader = ByteReader(body)
        messages = try reader.read()
        headTime = try reader.read()
    }
}

/// Why a server ended a replay with ``ReplayCommand/error``.
public enum ReplayFailure: UInt16, Sendable {
    /// The request could not be read.
    case badRequest = 1
    /// The epoch of a start after sequence numbers is not in the journal.
    case unknownEpoch = 2
    /// The server serves as many replays as it may.
    case busy = 3
    /// The replay's client sent nothing (no credit) for too long.
    case timedOut = 4
}

/// Why a server ended a replay: the body of ``ReplayCommand/error``, a u16 code and UTF-8 text.
public struct ReplayRefusal: Sendable, Equatable {
    /// Nil for a code this version does not know.
    public var failure: ReplayFailure?
    public var text: String

    public init(_ failure: ReplayFailure?, _ text: String) {
        self.failure = failure
        self.text = text
    }

    public func encoded() -> [UInt8] {
        var out = ByteWriter()
        out.append(failure?.rawValue ?? 0)
        out.bytes += Array(text.utf8)
        return out.bytes
    }

    public init(decoding body: UnsafeRawBufferPointer) throws(ReplayProtocolError) {
        var reader = ByteReader(body)
        failure = ReplayFailure(rawValue: try reader.read())
        text = String(decoding: try reader.take(reader.remaining), as: UTF8.self)
    }
}

/// A replay message that does not follow the protocol.
public struct ReplayProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Appends little-endian integers and short byte strings.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    /// A u8 length and the bytes (at most 255).
    mutating func appendShort(_ value: [UInt8]) {
        let count = min(value.count, 255)
        bytes.append(UInt8(count))
        bytes += value.prefix(count)
    }
}

/// Reads little-endian integers and byte strings, each checked against what is left.
struct ByteReader {
    private let body: UnsafeRawBufferPointer
    private var offset = 0

    init(_ body: UnsafeRawBufferPointer) { self.body = body }

    var remaining: Int { body.count - offset }
    var isAtEnd: Bool { offset == body.count }

    mutating func read<T: FixedWidthInteger>() throws(ReplayProtocolError) -> T {
        let bytes = try take(MemoryLayout<T>.size)
        return T(littleEndian: bytes.loadUnaligned(as: T.self))
    }

    mutating func take(_ count: Int) throws(ReplayProtocolError) -> UnsafeRawBufferPointer {
        guard count <= remaining else { throw ReplayProtocolError("message cut at byte \(offset) (\(count) more bytes expected)") }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: body[offset..<(offset + count)])
    }

    /// A u8 length and the bytes.
    mutating func readShort() throws(ReplayProtocolError) -> UnsafeRawBufferPointer {
        try take(Int(try read() as UInt8))
    }
}
