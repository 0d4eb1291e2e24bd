#if canImport(Glibc)
import Glibc
#endif
import TickBusCore

/// The constants of the journal file format (docs/journal.md).
public enum JournalFormat {
    /// The format version this code writes and reads.
    public static let version: UInt16 = 1
    public static let fileHeaderSize = 128
    public static let blockHeaderSize = 40
    /// The file name extension, without the dot.
    public static let fileExtension = "tbj"
    /// The largest payload a reader accepts (a writer's blocks are far smaller).
    public static let maxPayload = 16 << 20
    static let magic: [UInt8] = Array("TICKBUSJ".utf8)
    static let blockMagic: UInt32 = 0x4B4C_4254
    static let publisherSize = 32
}

/// What a file or block fails on.
public struct JournalFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The 128-byte header every journal file starts with: whose file it is and what it holds.
public struct JournalFileHeader: Sendable, Equatable {
    /// The publisher's epoch.
    public var epoch: UInt32
    /// When the file was started, ns since the Unix epoch (UTC).
    public var created: Int64
    /// The UTC day of its blocks as `YYYYMMDD`.
    public var day: UInt32
    /// 1, 2, … within the epoch.
    public var part: UInt32
    /// The wire format version of its messages.
    public var wireVersion: UInt16
    /// The publishing process's name.
    public var publisher: String

    public init(epoch: UInt32, created: Int64, day: UInt32, part: UInt32, wireVersion: UInt16 = UInt16(WireFormat.version), publisher: String) {
        self.epoch = epoch
        self.created = created
        self.day = day
        self.part = part
        self.wireVersion = wireVersion
        self.publisher = publisher
    }

    /// The header's bytes, checksum included.
    public func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: JournalFormat.fileHeaderSize)
        bytes.withUnsafeMutableBytes { b in
            b.copyBytes(from: JournalFormat.magic)
            b.storeLE(JournalFormat.version, at: 8)
            b.storeLE(UInt16(JournalFormat.fileHeaderSize), at: 10)
            b.storeLE(epoch, at: 12)
            b.storeLE(created, at: 16)
            b.storeLE(day, at: 24)
            b.storeLE(part, at: 28)
            b.storeLE(wireVersion, at: 32)
            let name = Array(publisher.utf8.prefix(JournalFormat.publisherSize))
            UnsafeMutableRawBufferPointer(rebasing: b[64...]).copyBytes(from: name)
            b.storeLE(CRC32.checksum(UnsafeRawBufferPointer(rebasing: b[..<124])), at: 124)
        }
        return bytes
    }

    /// Reads and checks a header (magic, version, size, checksum).
    public init(decoding b: UnsafeRawBufferPointer) throws(JournalFormatError) {
        guard b.count >= JournalFormat.fileHeaderSize else { throw .init("file header: \(b.count) of 128 bytes") }
        guard b.prefix(8).elementsEqual(JournalFormat.magic) else { throw .init("not a tickbus journal (no TICKBUSJ magic)") }
        let version: UInt16 = b.loadLE(at: 8)
        guard version == JournalFormat.version else { throw .init("journal format version \(version); this tickbus reads \(JournalFormat.version)") }
        let size: UInt16 = b.loadLE(at: 10)
        guard size == JournalFormat.fileHeaderSize else { throw .init("file header size \(size), expected 128") }
        let crc: UInt32 = b.loadLE(at: 124)
        guard crc == CRC32.checksum(UnsafeRawBufferPointer(rebasing: b[..<124])) else { throw .init("file header checksum mismatch") }
        epoch = b.loadLE(at: 12)
        created = b.loadLE(at: 16)
        day = b.loadLE(at: 24)
        part = b.loadLE(at: 28)
        wireVersion = b.loadLE(at: 32)
        let name = UnsafeRawBufferPointer(rebasing: b[64..<(64 + JournalFormat.publisherSize)])
        publisher = String(decoding: name.prefix { $0 != 0 }, as: UTF8.self)
    }
}

/// What a block holds.
public enum JournalBlockKind: UInt16, Sendable {
    /// Bus messages, each a u16 length and its bytes.
    case messages = 1
    /// Sequence ranges published but not journaled.
    case hole = 2
    /// The file was closed.
    case end = 3
}

/// Why a hole block's messages are missing (its `flags`).
public enum JournalHoleReason: UInt16, Sendable, CustomStringConvertible {
    /// The writer was behind by more than its queue holds.
    case writerBehind = 1
    /// The disk refused a write (full, read-only, I/O error).
    case writeFailed = 2

    public var description: String {
        switch self {
        case .writerBehind: "writer behind"
        case .writeFailed: "write failed"
        }
    }
}

/// The 40-byte header of every block.
public struct JournalBlockHeader: Sendable, Equatable {
    public var kind: JournalBlockKind
    /// End block: bit 0 set by a repair. Hole block: the ``JournalHoleReason``.
    public var flags: UInt16
    public var length: UInt32
    public var count: UInt32
    public var firstTime: Int64
    public var lastTime: Int64
    public var payloadCRC: UInt32

    public init(kind: JournalBlockKind, flags: UInt16 = 0, length: UInt32, count: UInt32, firstTime: Int64, lastTime: Int64, payloadCRC: UInt32) {
        self.kind = kind
        self.flags = flags
        self.length = length
        self.count = count
        self.firstTime = firstTime
        self.lastTime = lastTime
        self.payloadCRC = payloadCRC
    }

    /// End-block flag: the file's tail was cut by a repair.
    public static let repairedFlag: UInt16 = 1

    /// Writes the header with its checksum into the first 40 bytes of `b`.
    public func encode(into b: UnsafeMutableRawBufferPointer) {
        b.storeLE(JournalFormat.blockMagic, at: 0)
        b.storeLE(kind.rawValue, at: 4)
        b.storeLE(flags, at: 6)
        b.storeLE(length, at: 8)
        b.storeLE(count, at: 12)
        b.storeLE(firstTime, at: 16)
        b.storeLE(lastTime, at: 24)
        b.storeLE(payloadCRC, at: 32)
        b.storeLE(CRC32.checksum(UnsafeRawBufferPointer(rebasing: b[..<36])), at: 36)
    }

    /// The header's bytes.
    public func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: JournalFormat.blockHeaderSize)
        bytes.withUnsafeMutableBytes { encode(into: $0) }
        return bytes
    }

    /// Reads and checks a header (magic, checksum, kind, length bound).
    public init(decoding b: UnsafeRawBufferPointer) throws(JournalFormatError) {
        guard b.count >= JournalFormat.blockHeaderSize else { throw .init("block header: \(b.count) of 40 bytes") }
        guard b.loadLE(at: 0) as UInt32 == JournalFormat.blockMagic else { throw .init("no block magic") }
        guard b.loadLE(at: 36) as UInt32 == CRC32.checksum(UnsafeRawBufferPointer(rebasing: b[..<36])) else {
            throw .init("block header checksum mismatch")
        }
        let rawKind: UInt16 = b.loadLE(at: 4)
        guard let kind = JournalBlockKind(rawValue: rawKind) else { throw .init("unknown block kind \(rawKind)") }
        self.kind = kind
        flags = b.loadLE(at: 6)
        length = b.loadLE(at: 8)
        guard length <= JournalFormat.maxPayload else { throw .init("block length \(length) over \(JournalFormat.maxPayload)") }
        count = b.loadLE(at: 12)
        firstTime = b.loadLE(at: 16)
        lastTime = b.loadLE(at: 24)
        payloadCRC = b.loadLE(at: 32)
    }
}

/// A journal file's name: `<YYYYMMDD>T<HHMMSS>Z-<epoch hex>-<part>.tbj`, in time order.
public struct JournalFileName: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// When the file was started, whole seconds since the Unix epoch (UTC).
    public var created: Int64
    public var epoch: UInt32
    public var part: UInt32

    public init(created: Int64, epoch: UInt32, part: UInt32) {
        self.created = created
        self.epoch = epoch
        self.part = part
    }

    public var description: String {
        let (days, seconds) = created.floorDivided(by: 86_400)
        let (y, m, d) = UTCTime.civilDate(daysSinceEpoch: days)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let hex = String(epoch, radix: 16)
        let partText = String(part)
        return "\(y)\(two(m))\(two(d))T\(two(seconds / 3600))\(two(seconds / 60 % 60))\(two(seconds % 60))Z-"
            + String(repeating: "0", count: max(0, 8 - hex.count)) + hex + "-"
            + String(repeating: "0", count: max(0, 4 - partText.count)) + partText + "." + JournalFormat.fileExtension
    }

    /// Parses a file name (not a path); nil for any other name.
    public init?(parsing name: String) {
        let bytes = Array(name.utf8)
        guard bytes.count >= 34, name.hasSuffix("." + JournalFormat.fileExtension),
              bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z"), bytes[16] == UInt8(ascii: "-"),
              bytes[25] == UInt8(ascii: "-")
        else { return nil }
        func number(_ range: Range<Int>, radix: Int = 10) -> Int64? {
            Int64(String(decoding: bytes[range], as: UTF8.self), radix: radix)
        }
        guard let y = number(0..<4), let m = number(4..<6), let d = number(6..<8), (1...12).contains(m),
              (1...UTCTime.daysIn(month: m, year: y)).contains(d),
              let hh = number(9..<11), let mm = number(11..<13), let ss = number(13..<15), hh < 24, mm < 60, ss < 60,
              let epoch = number(17..<25, radix: 16), epoch >= 0, epoch <= Int64(UInt32.max),
              let part = number(26..<(bytes.count - 4)), part > 0, part <= Int64(UInt32.max)
        else { return nil }
        created = UTCTime.daysSinceEpoch(year: y, month: m, day: d) * 86_400 + hh * 3600 + mm * 60 + ss
        self.epoch = UInt32(epoch)
        self.part = UInt32(part)
    }

    public static func < (a: Self, b: Self) -> Bool {
        (a.created, a.epoch, a.part) < (b.created, b.epoch, b.part)
    }
}

/// The UTC day of a time as `YYYYMMDD`, and the time its next day starts.
enum JournalDay {
    static func of(_ nanoseconds: Int64) -> (day: UInt32, next: Int64) {
        let (days, _) = nanoseconds.floorDivided(by: 86_400_000_000_000)
        let (y, m, d) = UTCTime.civilDate(daysSinceEpoch: days)
        return (UInt32(clamping: y * 10_000 + m * 100 + d), (days + 1) * 86_400_000_000_000)
    }
}

extension UnsafeMutableRawBufferPointer {
    @inline(__always)
    func storeLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always)
    func loadLE<T: FixedWidthInteger>(at offset: Int) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
