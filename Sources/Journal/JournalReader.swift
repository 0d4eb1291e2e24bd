#if canImport(Glibc)
import Glibc
#endif
import TickBusCore

/// A journal file that cannot be opened or read.
public struct JournalError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }

    static func system(_ what: String, _ path: String) -> JournalError {
        JournalError("\(what) \(path): \(String(cString: strerror(errno)))")
    }
}

/// One journal file opened for reading (docs/journal.md): its header, then its blocks in order,
/// each checked before it is handed out. Reads with `pread`, so a file that grows while it is
/// read (a live journal) is read up to what was there when a block was reached.
public final class JournalFileReader {
    public let path: String
    public let header: JournalFileHeader
    /// The file's size when opened (or last ``refresh()``ed).
    public private(set) var size: Int64
    private let fd: Int32
    private var buffer: UnsafeMutableRawBufferPointer

    /// A checked block; `payload` is valid only inside the callback it is given to.
    public struct Block {
        public var header: JournalBlockHeader
        /// Where its header starts in the file.
        public var offset: Int64
        public var payload: UnsafeRawBufferPointer
    }

    /// Why a walk stopped.
    public enum End: Sendable, Equatable {
        /// At the end of the file, after a whole block (or when the callback said stop).
        case clean
        /// A block from `offset` to the end of the file is incomplete or fails its checks, and no
        /// valid block follows: a write cut short by a crash.
        case torn(offset: Int64, reason: String)
        /// A block at `offset` fails its checks and a valid block follows: damage.
        case corrupt(offset: Int64, reason: String)
    }

    public init(path: String) throws(JournalError) {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system("cannot open", path) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let error = JournalError.system("cannot stat", path)
            close(fd)
            throw error
        }
        size = Int64(info.st_size)
        buffer = .allocate(byteCount: 1 << 17, alignment: 8)
        do {
            guard size >= Int64(JournalFormat.fileHeaderSize) else {
                throw JournalFormatError("file of \(size) bytes has no whole header")
            }
            let b = try Self.read(fd, into: buffer, count: JournalFormat.fileHeaderSize, at: 0)
            header = try JournalFileHeader(decoding: b)
        } catch {
            close(fd)
            buffer.deallocate()
            throw JournalError("\(path): \(error)")
        }
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    /// Reads the file's size again (a live journal grows); returns whether it grew.
    @discardableResult
    public func refresh() -> Bool {
        var info = stat()
        guard fstat(fd, &info) == 0, Int64(info.st_size) > size else { return false }
        size = Int64(info.st_size)
        return true
    }

    /// Walks the blocks from `offset` (the first block by default) up to the size the file had
    /// when opened: each block's header is checked, and with `payloads` its payload is read and
    /// its checksum (and, for messages, every length) checked. `body` returns `false` to stop.
    public func walk(from offset: Int64 = Int64(JournalFormat.fileHeaderSize), payloads: Bool = true,
                     _ body: (Block) throws -> Bool) rethrows -> End {
        var offset = offset
        while offset < size {
            let header: JournalBlockHeader
            do {
                guard size - offset >= Int64(JournalFormat.blockHeaderSize) else {
                    return damage(at: offset, "block header cut after \(size - offset) bytes")
                }
                header = try JournalBlockHeader(decoding: try Self.read(fd, into: buffer, count: JournalFormat.blockHeaderSize, at: offset))
            } catch {
                return damage(at: offset, "\(error)")
            }
            let end = offset + Int64(JournalFormat.blockHeaderSize) + Int64(header.length)
            guard end <= size else { return damage(at: offset, "block of \(header.length) bytes runs past the end of the file") }
            var payload = UnsafeRawBufferPointer(start: nil, count: 0)
            if payloads {
                do {
                    if Int(header.length) > buffer.count {
                        buffer.deallocate()
                        buffer = .allocate(byteCount: Int(header.length), alignment: 8)
                    }
                    payload = try Self.read(fd, into: buffer, count: Int(header.length), at: offset + Int64(JournalFormat.blockHeaderSize))
                    guard CRC32.checksum(payload) == header.payloadCRC else { throw JournalFormatError("payload checksum mismatch") }
                    switch header.kind {
                    case .messages: try JournalBlock.forEachMessage(in: payload, count: header.count) { _ in }
                    case .hole: _ = try JournalHoles.decode(payload, count: header.count)
                    case .end: guard header.length == 0 else { throw JournalFormatError("end block with a payload") }
                    }
                } catch {
                    return damage(at: offset, "\(error)")
                }
            }
            guard try body(Block(header: header, offset: offset, payload: payload)) else { return .clean }
            offset = end
        }
        return .clean
    }

    /// Calls `body` with every message from `offset` on, in journal order, with its block's
    /// header; `body` returns `false` to stop.
    public func forEachMessage(from offset: Int64 = Int64(JournalFormat.fileHeaderSize),
                               _ body: (UnsafeRawBufferPointer, JournalBlockHeader) throws -> Bool) rethrows -> End {
        try walk(from: offset) { block in
            guard block.header.kind == .messages else { return true }
            // `walk` has checked every length against the payload.
            let payload = block.payload
            var offset = 0
            while offset + 4 <= payload.count {
                let size = Int(payload.loadLE(at: offset) as UInt32)
                guard try body(UnsafeRawBufferPointer(rebasing: payload[(offset + 4)..<(offset + 4 + size)]), block.header) else {
                    return false
                }
                offset += 4 + size
            }
            return true
        }
    }

    /// Reads the whole file and says what it holds.
    public func summary() -> JournalFileSummary {
        var s = JournalFileSummary(path: path, header: header, size: size)
        var topics = Set<[UInt8]>()
        var endMismatch: End?
        s.end = walk { block in
            s.blocks += 1
            s.validEnd = block.offset + Int64(JournalFormat.blockHeaderSize) + Int64(block.header.length)
            s.closed = block.header.kind == .end
            switch block.header.kind {
            case .messages:
                s.messages += UInt64(block.header.count)
                s.firstTime = s.firstTime ?? block.header.firstTime
                s.lastTime = block.header.lastTime
                try? JournalBlock.forEachMessage(in: block.payload, count: block.header.count) { message in
                    if let stamp = BusMessage.stamp(of: message) { topics.insert(Array(stamp.topic)) }
                }
            case .hole:
                let ranges = (try? JournalHoles.decode(block.payload, count: block.header.count)) ?? []
                s.holes += ranges.map { ($0, JournalHoleReason(rawValue: block.header.flags)) }
            case .end:
                s.repaired = block.header.flags & JournalBlockHeader.repairedFlag != 0
                if UInt64(block.header.count) != s.messages {
                    endMismatch = .corrupt(offset: block.offset, reason: "end block counts \(block.header.count) messages, the file holds \(s.messages)")
                }
            }
            return true
        }
        if let endMismatch { s.end = endMismatch }
        s.topics = topics.count
        return s
    }

    /// The offset of the first valid block header after `offset`, if any.
    private func nextBlock(after offset: Int64) -> Int64? {
        var chunkStart = offset + 1
        let magic = JournalFormat.blockMagic
        while chunkStart + Int64(JournalFormat.blockHeaderSize) <= size {
            let count = Int(min(Int64(buffer.count), size - chunkStart))
            guard let chunk = try? Self.read(fd, into: buffer, count: count, at: chunkStart) else { return nil }
            var i = 0
            while i + 4 <= chunk.count {
                if chunk.loadLE(at: i) as UInt32 == magic {
                    let at = chunkStart + Int64(i)
                    var probe = [UInt8](repeating: 0, count: JournalFormat.blockHeaderSize)
                    if at + Int64(JournalFormat.blockHeaderSize) <= size,
                       probe.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, $0.count, off_t(at)) }) == JournalFormat.blockHeaderSize,
                       (try? probe.withUnsafeBytes({ b throws(JournalFormatError) in try JournalBlockHeader(decoding: b) })) != nil {
                        return at
                    }
                }
                i += 1
            }
            // Overlap by 3 bytes so a magic across two chunks is seen.
            chunkStart += Int64(max(1, chunk.count - 3))
        }
        return nil
    }

    private func damage(at offset: Int64, _ reason: String) -> End {
        nextBlock(after: offset) == nil ? .torn(offset: offset, reason: reason) : .corrupt(offset: offset, reason: reason)
    }

    private static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, count: Int, at offset: Int64) throws(JournalFormatError) -> UnsafeRawBufferPointer {
        var done = 0
        while done < count {
            let n = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw JournalFormatError(n == 0 ? "file ends at \(offset + Int64(done))" : "read failed: \(String(cString: strerror(errno)))") }
            done += n
        }
        return UnsafeRawBufferPointer(rebasing: buffer[..<count])
    }
}

/// What a journal file holds, from reading all of it.
public struct JournalFileSummary: Sendable {
    public var path: String
    public var header: JournalFileHeader
    public var size: Int64
    public var blocks = 0
    public var messages: UInt64 = 0
    /// Distinct topics of its messages.
    public var topics = 0
    /// When its first block began and its last was handed to the writer.
    public var firstTime: Int64?
    public var lastTime: Int64?
    /// Ranges published but not journaled, with their reason.
    public var holes: [(range: JournalHoles.Range, reason: JournalHoleReason?)] = []
    /// Its last valid block is an end block.
    public var closed = false
    /// A repair cut its tail.
    public var repaired = false
    /// Where the walk stopped.
    public var end: JournalFileReader.End = .clean
    /// The end of its last valid block.
    public var validEnd = Int64(JournalFormat.fileHeaderSize)
}
