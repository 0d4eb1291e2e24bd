import TickBusCore

/// Where a replay of a journal starts.
public enum JournalStart: Sendable, Equatable {
    /// The oldest message the journal holds.
    case beginning
    /// The first block whose last message was appended at or after this time (ns UTC): replay
    /// is exact to the block, so it may begin up to one block (2 ms, 64 KiB) earlier.
    case time(Int64)
    /// The messages of `epoch` after these last sequence numbers (all of a topic not named),
    /// then every later epoch: what a subscriber asks for after a gap or a restart. Blocks whose
    /// last message was appended before `notBefore` (ns UTC) are skipped: a subscriber knows no
    /// message it lacks was published before the last one it has.
    case after(epoch: UInt32, sequences: [Topic: UInt64], notBefore: Int64 = 0)
}

/// Why a cursor cannot start.
public enum JournalCursorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No file of the epoch asked for is in the journal (past retention, or never journaled).
    case unknownEpoch(UInt32)

    public var description: String {
        switch self {
        case .unknownEpoch(let epoch): "epoch \(String(epoch, radix: 16)) is not in the journal"
        }
    }
}

/// Reads a journal directory from a starting point on, as a replay serves it: the messages that
/// match the filters, in journal order and in batches, and the holes on their topics. It follows
/// a live journal as it grows and as its writer rolls to new files.
public final class JournalCursor {
    /// What ``next()`` found.
    public enum Item {
        /// `count` messages in the journal's framing (a u32 length, then the bus message; back to
        /// back); valid until the next call.
        case messages(UnsafeRawBufferPointer, count: Int)
        /// Sequence numbers of `epoch` on the filters' topics that the journal does not hold.
        case hole(epoch: UInt32, reason: JournalHoleReason?, ranges: [JournalHoles.Range])
        /// A file is damaged from `offset` on; the cursor goes on with the next file.
        case damaged(path: String, offset: Int64, reason: String)
        /// Part of the journal was read without a match yet; call again.
        case scanning
        /// Nothing more for now: the cursor is at the journal's head (a later call may find more).
        case head
    }

    public let directory: String
    /// When the last messages block read was handed to the writer (ns UTC; 0: none yet).
    public private(set) var lastTime: Int64 = 0
    private let filters: [TopicFilter]
    /// Blocks before this time are skipped, until the first that is not.
    private var since: Int64?
    /// The epoch whose messages `positions` limit.
    private let positionsEpoch: UInt32?
    private let positions: [TopicKey: UInt64]
    /// The first file to read (nil: the oldest), until one is opened.
    private var firstFile: JournalFileName?
    private var current: (name: JournalFileName, reader: JournalFileReader)?
    /// The last file opened.
    private var previous: JournalFileName?
    /// Where the next block of the current file starts.
    private var offset = Int64(JournalFormat.fileHeaderSize)
    /// The current file's end block was read.
    private var closed = false
    /// An item found while a batch was being filled, handed out after it.
    private var pending: Item?
    private var batch: UnsafeMutableRawBufferPointer
    private var batchLength = 0
    private var batchCount = 0
    private let batchTarget: Int

    /// A cursor over `directory` from `start`, handing out messages matching any of `filters`
    /// (all when empty) in batches of about `batchBytes`.
    public init(directory: String, start: JournalStart, filters: [TopicFilter], batchBytes: Int = 1 << 16) throws(JournalCursorError) {
        self.directory = directory
        self.filters = filters.contains { $0.prefix.isEmpty } ? [] : filters
        batchTarget = max(1, batchBytes)
        batch = .allocate(byteCount: batchTarget + BusMessage.maxSize + 4, alignment: 8)
        let names = JournalDirectory.listing(in: directory).map(\.name)
        switch start {
        case .beginning:
            positionsEpoch = nil
            positions = [:]
        case .time(let t):
            since = t
            positionsEpoch = nil
            positions = [:]
            firstFile = names.last { $0.created <= t.floorDivided(by: 1_000_000_000).0 }
        case .after(let epoch, let sequences, let notBefore):
            since = notBefore > 0 ? notBefore : nil
            guard let first = names.first(where: { $0.epoch == epoch }) else {
                batch.deallocate()
                throw .unknownEpoch(epoch)
            }
            firstFile = first
            positionsEpoch = epoch
            positions = Dictionary(sequences.map { (TopicKey($0.key), $0.value) }, uniquingKeysWith: max)
        }
    }

    deinit { batch.deallocate() }

    /// The next batch of messages, or what else comes first. Reads at most 64 blocks per call,
    /// so a caller serving several cursors stays responsive.
    public func next() -> Item {
        if let item = pending {
            pending = nil
            return item
        }
        for _ in 0..<64 {
            guard let file = current ?? openNext() else { return flush(then: .head) }
            var found: Item?
            var read = false
            let end = file.reader.walk(from: offset) { block in
                read = true
                offset = block.offset + Int64(JournalFormat.blockHeaderSize) + Int64(block.header.length)
                found = take(block, epoch: file.reader.header.epoch)
                return false
            }
            if read {
                if let found { return flush(then: found) }
                if batchLength >= batchTarget { return flush(then: nil) }
                continue
            }
            switch end {
            case .clean, .torn:
                // At the end of what the file holds now (a torn tail of a live file is a block
                // being written): go on when it grew, or move on when it is finished.
                if !closed && file.reader.refresh() { continue }
                if closed || laterFileExists(than: file.name) {
                    current = nil
                    continue
                }
                return flush(then: .head)
            case .corrupt(let at, let reason):
                current = nil
                return flush(then: .damaged(path: file.reader.path, offset: at, reason: reason))
            }
        }
        return flush(then: .scanning)
    }

    /// The batch if it holds messages (with `item` kept for the next call), else `item`.
    private func flush(then item: Item?) -> Item {
        guard batchCount > 0 else { return item ?? .scanning }
        pending = item
        defer {
            batchLength = 0
            batchCount = 0
        }
        return .messages(UnsafeRawBufferPointer(rebasing: batch[..<batchLength]), count: batchCount)
    }

    /// What one block adds: messages go into the batch (or are handed out whole), a hole on the
    /// filters' topics is an item of its own.
    private func take(_ block: JournalFileReader.Block, epoch: UInt32) -> Item? {
        switch block.header.kind {
        case .end:
            closed = true
            return nil
        case .hole:
            let ranges = ((try? JournalHoles.decode(block.payload, count: block.header.count)) ?? []).compactMap { trim($0, epoch: epoch) }
            return ranges.isEmpty ? nil : .hole(epoch: epoch, reason: JournalHoleReason(rawValue: block.header.flags), ranges: ranges)
        case .messages:
            lastTime = block.header.lastTime
            if let since {
                guard block.header.lastTime >= since else { return nil }
                self.since = nil
            }
            let limited = epoch == positionsEpoch && !positions.isEmpty
            if filters.isEmpty && !limited && batchCount == 0 && block.header.count > 0 {
                // The block's payload is already a batch.
                return .messages(block.payload, count: Int(block.header.count))
            }
            reserve(Int(block.header.length))
            try? JournalBlock.forEachMessage(in: block.payload, count: block.header.count) { message in
                guard wanted(message, limited: limited) else { return }
                batch.storeLE(UInt32(message.count), at: batchLength)
                UnsafeMutableRawBufferPointer(rebasing: batch[(batchLength + 4)...]).copyMemory(from: message)
                batchLength += 4 + message.count
                batchCount += 1
            }
            return nil
        }
    }

    private func wanted(_ message: UnsafeRawBufferPointer, limited: Bool) -> Bool {
        guard filters.isEmpty || filters.contains(where: { $0.matches(message) }) else { return false }
        guard limited, let stamp = BusMessage.stamp(of: message), let last = positions[TopicKey(stamp.topic)] else { return true }
        return stamp.sequence > last
    }

    /// The part of a hole range the replay asked for, if any.
    private func trim(_ range: JournalHoles.Range, epoch: UInt32) -> JournalHoles.Range? {
        let bytes = Array(range.topic.utf8) + [UInt8(ascii: " ")]
        let matches = bytes.withUnsafeBytes { b in filters.isEmpty || filters.contains { $0.matches(b) } }
        guard matches else { return nil }
        var range = range
        if epoch == positionsEpoch, let last = Array(range.topic.utf8).withUnsafeBytes({ positions[TopicKey($0)] }) {
            guard range.last > last else { return nil }
            range.first = max(range.first, last + 1)
        }
        return range
    }

    /// Room for `bytes` more in the batch.
    private func reserve(_ bytes: Int) {
        guard batchLength + bytes > batch.count else { return }
        let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: batchLength + bytes, alignment: 8)
        larger.copyMemory(from: UnsafeRawBufferPointer(rebasing: batch[..<batchLength]))
        batch.deallocate()
        batch = larger
    }

    /// Opens the file after the current one (or the first to read), skipping files that vanished.
    private func openNext() -> (name: JournalFileName, reader: JournalFileReader)? {
        for (name, path) in JournalDirectory.listing(in: directory) {
            if let previous, name <= previous { continue }
            if previous == nil, let firstFile, name < firstFile { continue }
            guard let reader = try? JournalFileReader(path: path) else { continue }
            current = (name, reader)
            previous = name
            firstFile = nil
            offset = Int64(JournalFormat.fileHeaderSize)
            closed = false
            return current
        }
        return nil
    }

    private func laterFileExists(than name: JournalFileName) -> Bool {
        JournalDirectory.listing(in: directory).contains { $0.name > name }
    }
}

/// A topic's bytes as a hashable value, built without allocating.
private struct TopicKey: Hashable {
    private var words: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
    private var count = 0

    init(_ topic: UnsafeRawBufferPointer) {
        count = min(topic.count, BusMessage.maxTopicSize)
        withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: topic[..<count])) }
    }

    init(_ topic: Topic) {
        self = Array(topic.description.utf8).withUnsafeBytes { TopicKey($0) }
    }

    static func == (a: TopicKey, b: TopicKey) -> Bool {
        a.count == b.count && a.words == b.words
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
        hasher.combine(words.4)
    }
}
