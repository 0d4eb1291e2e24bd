#if canImport(Glibc)
import Glibc
#endif
import TickBusCore

/// A block being filled by the publishing thread or written by the writer: room for its header
/// and payload, reused from block to block. It moves between the two threads only through the
/// journal's queue, so only one thread touches it at a time.
final class JournalBlock: @unchecked Sendable {
    /// Header and payload: pages of its own, returned to the system when the block is released.
    private let storage: UnsafeMutableRawBufferPointer
    /// Payload bytes used.
    private(set) var length = 0
    /// Messages in the payload.
    private(set) var count: UInt32 = 0
    private(set) var firstTime: Int64 = 0
    var lastTime: Int64 = 0

    /// Payload bytes after which the block takes no more messages.
    private let target: Int
    /// Made for one message longer than a pooled block holds; not reused.
    let isOversized: Bool

    /// A block that closes once its payload reaches `target` bytes, with room beyond for one
    /// message of up to 4 KiB (a longer one gets an oversized block of its own); nil when the
    /// system has no memory for it.
    init?(target: Int, oversized: Bool = false) {
        let size = JournalFormat.blockHeaderSize + target + 4 + (oversized ? 0 : 4096)
        let pages = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0)
        guard let pages, pages != MAP_FAILED else { return nil }
        storage = UnsafeMutableRawBufferPointer(start: pages, count: size)
        self.target = target
        isOversized = oversized
    }

    deinit { munmap(storage.baseAddress, storage.count) }

    var isEmpty: Bool { count == 0 }

    var payload: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: storage[JournalFormat.blockHeaderSize..<(JournalFormat.blockHeaderSize + length)])
    }

    /// Appends a message (a u32 length and its bytes); `false` when the block is full. An empty
    /// block takes any bus message.
    @inline(__always)
    func append(_ message: UnsafeRawBufferPointer, now: @autoclosure () -> Int64) -> Bool {
        let start = JournalFormat.blockHeaderSize + length
        guard length < target, start + 4 + message.count <= storage.count else { return false }
        if count == 0 { firstTime = now() }
        storage.storeLE(UInt32(message.count), at: start)
        UnsafeMutableRawBufferPointer(rebasing: storage[(start + 4)...]).copyMemory(from: message)
        length += 4 + message.count
        count += 1
        return true
    }

    /// Writes the header (kind messages) and returns the block's bytes.
    func sealed() -> UnsafeRawBufferPointer {
        JournalBlockHeader(
            kind: .messages, length: UInt32(length), count: count, firstTime: firstTime, lastTime: lastTime,
            payloadCRC: CRC32.checksum(payload)
        ).encode(into: storage)
        return UnsafeRawBufferPointer(rebasing: storage[..<(JournalFormat.blockHeaderSize + length)])
    }

    func reset() {
        length = 0
        count = 0
    }
}

extension JournalBlock {
/// Calls `body` with each message of a messages block's payload; throws when a length runs past
/// the payload or the count differs.
static func forEachMessage(
    in payload: UnsafeRawBufferPointer, count: UInt32, _ body: (UnsafeRawBufferPointer) throws -> Void
) throws {
    var offset = 0
    var seen: UInt32 = 0
    while offset < payload.count {
        guard offset + 4 <= payload.count else { throw JournalFormatError("message length cut at payload byte \(offset)") }
        let size = Int(payload.loadLE(at: offset) as UInt32)
        guard size <= payload.count - offset - 4 else { throw JournalFormatError("message at payload byte \(offset) runs past the block") }
        try body(UnsafeRawBufferPointer(rebasing: payload[(offset + 4)..<(offset + 4 + size)]))
        offset += 4 + size
        seen += 1
    }
    guard seen == count else { throw JournalFormatError("block says \(count) messages, holds \(seen)") }
}
}

/// Sequence ranges of messages published but not journaled, per topic, in publishing order.
public struct JournalHoles: Sendable, Equatable {
    /// One topic's missing sequence numbers, both ends included.
    public struct Range: Sendable, Equatable {
        public var topic: String
        public var first: UInt64
        public var last: UInt64

        public init(topic: String, first: UInt64, last: UInt64) {
            self.topic = topic
            self.first = first
            self.last = last
        }
    }

    public private(set) var ranges: [Range] = []
    /// Messages missing (unreadable ones included).
    public private(set) var messages: UInt64 = 0
    /// The open range of each topic, by index in `ranges`.
    private var open: [String: Int] = [:]

    public init() {}

    public var isEmpty: Bool { messages == 0 }

    /// Adds one message; a message without a readable stamp is counted only.
    mutating func add(_ message: UnsafeRawBufferPointer) {
        messages += 1
        guard let stamp = BusMessage.stamp(of: message) else { return }
        let topic = String(decoding: stamp.topic, as: UTF8.self)
        if let i = open[topic], ranges[i].last &+ 1 == stamp.sequence {
            ranges[i].last = stamp.sequence
        } else {
            open[topic] = ranges.count
            ranges.append(Range(topic: topic, first: stamp.sequence, last: stamp.sequence))
        }
    }

    /// Adds every message of a payload.
    mutating func add(payload: UnsafeRawBufferPointer, count: UInt32) {
        do {
            try JournalBlock.forEachMessage(in: payload, count: count) { add($0) }
        } catch {
            // Our own block: it cannot be malformed; count what the header says.
        }
    }

    mutating func merge(_ other: JournalHoles) {
        for range in other.ranges {
            if let i = open[range.topic], ranges[i].last &+ 1 == range.first {
                ranges[i].last = range.last
            } else {
                open[range.topic] = ranges.count
                ranges.append(range)
            }
        }
        messages += other.messages
    }

    /// The hole block's payload: per range a u16 topic length, the topic, u64 first, u64 last.
    func payload() -> [UInt8] {
        var bytes: [UInt8] = []
        for range in ranges {
            let topic = Array(range.topic.utf8.prefix(Int(UInt16.max)))
            withUnsafeBytes(of: UInt16(topic.count).littleEndian) { bytes += $0 }
            bytes += topic
            withUnsafeBytes(of: range.first.littleEndian) { bytes += $0 }
            withUnsafeBytes(of: range.last.littleEndian) { bytes += $0 }
        }
        return bytes
    }

    /// Reads a hole block's payload.
    static func decode(_ payload: UnsafeRawBufferPointer, count: UInt32) throws(JournalFormatError) -> [Range] {
        var result: [Range] = []
        var offset = 0
        while offset < payload.count {
            guard offset + 2 <= payload.count else { throw .init("hole range cut at payload byte \(offset)") }
            let size = Int(payload.loadLE(at: offset) as UInt16)
            guard offset + 2 + size + 16 <= payload.count else { throw .init("hole range at payload byte \(offset) runs past the block") }
            let topic = String(decoding: payload[(offset + 2)..<(offset + 2 + size)], as: UTF8.self)
            let range = Range(topic: topic, first: payload.loadLE(at: offset + 2 + size), last: payload.loadLE(at: offset + 10 + size))
            guard range.first <= range.last else { throw .init("hole range at payload byte \(offset) ends before it starts") }
            result.append(range)
            offset += 2 + size + 16
        }
        guard result.count == Int(count) else { throw .init("hole block says \(count) ranges, holds \(result.count)") }
        return result
    }
}
