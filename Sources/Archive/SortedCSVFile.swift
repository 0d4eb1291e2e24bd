#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One CSV file whose rows stay sorted by their leading time, written in batches.
///
/// A batch later than the file's last row is appended. Otherwise the file is rewritten from the
/// first row the batch reaches (found from the remembered last row, else by binary search over
/// the sorted file) with the batch merged in, equal keys settled by ``EqualKeyRule``. That
/// rewrite goes through a journal beside the file (`.NAME.journal`: offset + new tail), replayed
/// on the next open if the process dies in the middle, so a `kill -9` never leaves a half
/// rewritten tail. Opening also cuts a torn last line (a row without its newline).
public final class SortedCSVFile {
    public let path: String
    public let rule: EqualKeyRule
    private let header: [UInt8]
    private let journal: String
    private var fd: Int32 = -1
    private var size: Int64 = 0
    /// The last row's key and offset (`Int64.min` and the end of the header when empty).
    private var lastKey = Int64.min
    private var lastOffset: Int64 = 0

    /// Bytes of a torn last line cut when the file was opened.
    public private(set) var repairedBytes: Int64 = 0
    /// Whether a journal was replayed when the file was opened.
    public private(set) var replayedJournal = false

    /// `header` without its newline.
    public init(path: String, header: String, rule: EqualKeyRule) {
        self.path = path
        self.rule = rule
        self.header = Array((header + "\n").utf8)
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        journal = directory + "." + name + ".journal"
    }

    deinit { close() }

    public var isOpen: Bool { fd >= 0 }

    /// Opens (creating directories and the file with its header), replays a journal, cuts a torn
    /// last line and finds the last row.
    public func open() throws(FileError) {
        guard fd < 0 else { return }
        if let slash = path.lastIndex(of: "/") { try AtomicFile.makeDirectories(String(path[..<slash])) }
        let descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FileError(path, errno, "cannot open") }
        fd = descriptor
        do throws(FileError) {
            try replayJournal()
            try loadEnd()
        } catch {
            close()
            throw error
        }
    }

    /// Syncs and closes; the next write opens again.
    public func close() {
        guard fd >= 0 else { return }
        fsync(fd)
        Glibc.close(fd)
        fd = -1
    }

    /// Writes a batch in order; returns the rows it added (replacements included) and how many
    /// it dropped as equal to rows in the batch or the file.
    @discardableResult
    public func write(_ batch: CSVBatch) throws(FileError) -> (written: Int, dropped: Int) {
        try open()
        let (bytes, keys, droppedInBatch) = batch.sorted(rule)
        guard let first = keys.first else { return (0, droppedInBatch) }
        if first > lastKey {
            try writeAll(bytes, at: size)
            lastOffset = size + Int64(bytes.count - lastRowLength(bytes))
            size += Int64(bytes.count)
            lastKey = keys[keys.count - 1]
            return (keys.count, droppedInBatch)
        }
        let from = first == lastKey && rule == .replace ? lastOffset : try lowerBound(first)
        let tail = try read(from: from, count: Int(size - from))
        let (merged, dropped, lastRow) = merge(tail, bytes, keys)
        try rewrite(from: from, with: merged)
        lastOffset = from + Int64(lastRow)
        lastKey = keys[keys.count - 1] > lastKey ? keys[keys.count - 1] : lastKey
        return (keys.count - dropped, droppedInBatch + dropped)
    }

    // MARK: - Merging

    /// The file's rows from some point (`tail`) merged with the batch's (sorted) rows: the new
    /// tail, batch rows dropped as equal, and where the new tail's last row starts.
    private func merge(_ tail: [UInt8], _ bytes: [UInt8], _ keys: [Int64]) -> ([UInt8], Int, Int) {
        var out: [UInt8] = []
        out.reserveCapacity(tail.count + bytes.count)
        var lastRow = 0
        var dropped = 0
        var t = 0 // position in tail
        var tKey = key(of: tail, at: 0)
        var b = 0 // position in bytes
        var index = 0
        var groupKey: Int64? = nil
        var group = 0..<0
        func emit(_ row: ArraySlice<UInt8>) {
            lastRow = out.count
            out.append(contentsOf: row)
        }
        while index < keys.count {
            let end = (bytes[b...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count - 1) + 1
            let row = bytes[b..<end]
            let k = keys[index]
            // File rows before this one go first.
            while t < tail.count, let tk = tKey, tk < k {
                let tEnd = (tail[t...].firstIndex(of: UInt8(ascii: "\n")) ?? tail.count - 1) + 1
                emit(tail[t..<tEnd])
                t = tEnd
                tKey = key(of: tail, at: t)
            }
            // File rows with the same key: replaced, or kept with the batch row dropped if identical.
            if k != groupKey {
                groupKey = k
                group = t..<t
                while t < tail.count, tKey == k {
                    let end = (tail[t...].firstIndex(of: UInt8(ascii: "\n")) ?? tail.count - 1) + 1
                    if rule == .dropIdentical { emit(tail[t..<end]) }
                    t = end
                    tKey = key(of: tail, at: t)
                }
                group = group.lowerBound..<t
            }
            var duplicate = false
            if rule == .dropIdentical {
                var scan = group.lowerBound
                while scan < group.upperBound {
                    let end = (tail[scan...].firstIndex(of: UInt8(ascii: "\n")) ?? tail.count - 1) + 1
                    if rule.same(tail[scan..<end], row) { duplicate = true }
                    scan = end
                }
            }
            if duplicate { dropped += 1 } else { emit(row) }
            b = end
            index += 1
        }
        if t < tail.count {
            out.append(contentsOf: tail[t...])
            lastRow = out.count - lastRowLength(out)
        }
        return (out, dropped, lastRow)
    }

    /// The key of the row starting at `offset` in `bytes`, nil at the end or when unreadable.
    private func key(of bytes: [UInt8], at offset: Int) -> Int64? {
        guard offset < bytes.count else { return nil }
        return bytes.withUnsafeBytes { RecordCSV.parseTime(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
    }

    private func lastRowLength(_ bytes: [UInt8]) -> Int {
        guard bytes.count > 1, let newline = bytes[..<(bytes.count - 1)].lastIndex(of: UInt8(ascii: "\n")) else {
            return bytes.count
        }
        return bytes.count - newline - 1
    }

    // MARK: - Finding rows

    /// The offset of the first row whose key is at least `key` (the end when none is): a binary
    /// search over byte offsets, each probe reading the row after a point; the last 64 KiB scanned.
    private func lowerBound(_ key: Int64) throws(FileError) -> Int64 {
        var lo = Int64(header.count)
        var hi = size
        while hi - lo > 65_536 {
            let probe = try nextRowStart(after: (lo + hi) / 2)
            guard probe < hi else { break }
            guard let probeKey = try keyOfRow(at: probe) else {
                throw FileError(path, 0, "has an unreadable row at byte \(probe)")
            }
            if probeKey < key { lo = probe } else { hi = probe }
        }
        let window = try read(from: lo, count: Int(hi - lo))
        var offset = 0
        while offset < window.count {
            if let k = self.key(of: window, at: offset), k >= key { return lo + Int64(offset) }
            guard let newline = window[offset...].firstIndex(of: UInt8(ascii: "\n")) else { break }
            offset = newline + 1
        }
        return hi
    }

    /// The first row start at or after `offset` (a row starts after a newline).
    private func nextRowStart(after offset: Int64) throws(FileError) -> Int64 {
        var position = offset - 1
        while position < size {
            let chunk = try read(from: position, count: Int(min(4096, size - position)))
            if let newline = chunk.firstIndex(of: UInt8(ascii: "\n")) { return position + Int64(newline) + 1 }
            position += Int64(chunk.count)
        }
        return size
    }

    private func keyOfRow(at offset: Int64) throws(FileError) -> Int64? {
        let bytes = try read(from: offset, count: Int(min(64, size - offset)))
        return key(of: bytes, at: 0)
    }

    // MARK: - Opening

    /// Finds the end: writes the header into a new file, checks it otherwise, cuts a torn last
    /// line, and reads the last row's key.
    private func loadEnd() throws(FileError) {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileError(path, errno, "cannot stat") }
        size = Int64(info.st_size)
        let start = try read(from: 0, count: Int(min(size, Int64(header.count))))
        if size < header.count, header.starts(with: start) {
            // New, or killed while writing the header.
            try writeAll(header, at: 0)
            guard ftruncate(fd, off_t(header.count)) == 0 else { throw FileError(path, errno, "cannot truncate") }
            size = Int64(header.count)
        } else if start != header {
            throw FileError(path, 0, "does not start with the header \(String(decoding: header.dropLast(), as: UTF8.self)); not writing to it")
        }
        let chunkStart = max(Int64(header.count) - 1, size - 65_536)
        let chunk = try read(from: chunkStart, count: Int(size - chunkStart))
        guard let newline = chunk.lastIndex(of: UInt8(ascii: "\n")) else {
            throw FileError(path, 0, "has a line longer than 64 KiB at its end")
        }
        let end = chunkStart + Int64(newline) + 1
        if end < size {
            guard ftruncate(fd, off_t(end)) == 0 else { throw FileError(path, errno, "cannot cut the torn last line of") }
            repairedBytes += size - end
            size = end
        }
        let lastStart = chunk[..<newline].lastIndex(of: UInt8(ascii: "\n")).map { chunkStart + Int64($0) + 1 } ?? chunkStart
        if end <= Int64(header.count) {
            lastKey = .min
            lastOffset = size
        } else {
            guard let k = try keyOfRow(at: lastStart) else {
                throw FileError(path, 0, "has an unreadable last row at byte \(lastStart)")
            }
            lastKey = k
            lastOffset = lastStart
        }
    }

    // MARK: - Journal

    private static let magic: [UInt8] = Array("TBJ1".utf8)

    /// Writes the new tail to the journal, then into the file, then removes the journal.
    private func rewrite(from offset: Int64, with tail: [UInt8]) throws(FileError) {
        var record = Self.magic
        withUnsafeBytes(of: offset.littleEndian) { record.append(contentsOf: $0) }
        withUnsafeBytes(of: Int64(tail.count).littleEndian) { record.append(contentsOf: $0) }
        record.append(contentsOf: tail)
        record.append(contentsOf: Self.magic)
        let j = Glibc.open(journal, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard j >= 0 else { throw FileError(journal, errno, "cannot create") }
        defer { Glibc.close(j) }
        try Self.writeAll(j, journal, record, at: 0)
        try apply(offset: offset, tail: tail)
        unlink(journal)
    }

    private func apply(offset: Int64, tail: [UInt8]) throws(FileError) {
        try writeAll(tail, at: offset)
        let end = offset + Int64(tail.count)
        guard ftruncate(fd, off_t(end)) == 0 else { throw FileError(path, errno, "cannot truncate") }
        size = end
    }

    /// Replays a complete journal left by a crash; a partial one (the crash came before the file
    /// was touched) is discarded.
    private func replayJournal() throws(FileError) {
        let j = Glibc.open(journal, O_RDONLY | O_CLOEXEC)
        guard j >= 0 else { return }
        defer {
            Glibc.close(j)
            unlink(journal)
        }
        var info = stat()
        guard fstat(j, &info) == 0 else { throw FileError(journal, errno, "cannot stat") }
        let length = Int(info.st_size)
        guard length >= 24 else { return }
        var bytes = [UInt8](repeating: 0, count: length)
        let n = bytes.withUnsafeMutableBytes { pread(j, $0.baseAddress!, length, 0) }
        guard n == length, Array(bytes[0..<4]) == Self.magic, Array(bytes[(length - 4)...]) == Self.magic else { return }
        let (offset, count) = bytes.withUnsafeBytes {
            (Int64(littleEndian: $0.loadUnaligned(fromByteOffset: 4, as: Int64.self)),
             Int64(littleEndian: $0.loadUnaligned(fromByteOffset: 12, as: Int64.self)))
        }
        guard count == Int64(length - 24), offset >= 0 else { return }
        try apply(offset: offset, tail: Array(bytes[20..<(length - 4)]))
        replayedJournal = true
    }

    // MARK: - I/O

    private func read(from offset: Int64, count: Int) throws(FileError) -> [UInt8] {
        guard count > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw FileError(path, n < 0 ? errno : 0, "cannot read") }
            done += n
        }
        return bytes
    }

    private func writeAll(_ bytes: [UInt8], at offset: Int64) throws(FileError) {
        try Self.writeAll(fd, path, bytes, at: offset)
    }

    private static func writeAll(_ fd: Int32, _ path: String, _ bytes: [UInt8], at offset: Int64) throws(FileError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw FileError(path, n < 0 ? errno : 0, "cannot write") }
            done += n
        }
    }
}
