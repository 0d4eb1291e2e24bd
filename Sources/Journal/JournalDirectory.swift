#if canImport(Glibc)
import Glibc
#endif
import TickBusCore

/// The files of a journal directory, their repair after a crash, and retention.
public enum JournalDirectory {
    /// The journal files in `directory`, in name (time) order; none when it does not exist.
    public static func files(in directory: String) -> [String] {
        listing(in: directory).map(\.path)
    }

    /// The journal files in `directory` with their parsed names, in name (time) order.
    public static func listing(in directory: String) -> [(name: JournalFileName, path: String)] {
        entries(in: directory).compactMap { name in JournalFileName(parsing: name).map { ($0, directory + "/" + name) } }
            .sorted { $0.name < $1.name }
    }

    /// The names in `directory`.
    private static func entries(in directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            names.append(withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            })
        }
        return names
    }

    /// Files and directories (each expanded to its journal files, in order) as given.
    public static func expand(_ paths: [String]) throws(JournalError) -> [String] {
        var result: [String] = []
        for path in paths {
            var info = stat()
            guard stat(path, &info) == 0 else { throw .system("cannot read", path) }
            if info.st_mode & S_IFMT == S_IFDIR {
                result += files(in: path)
            } else {
                result.append(path)
            }
        }
        return result
    }

    /// What a repair did to one file.
    public struct Repair: Sendable, Equatable {
        public var path: String
        /// Bytes cut from its tail (the whole file when its header was incomplete).
        public var cutBytes: Int64
        /// Messages kept.
        public var keptMessages: UInt64
        /// The file was removed: not even its header was whole.
        public var removed: Bool
        /// Why the tail was cut.
        public var reason: String
    }

    /// Cuts the torn tail of every file in `directory` that no process holds and that was not
    /// closed (no end block at its end), and closes it with an end block; a file whose header is
    /// incomplete is removed. A file damaged before its tail is left as it is (see `verify`).
    public static func repair(_ directory: String) -> [Repair] {
        // A writer that died between making a file and naming it left `.<name>.new`.
        for name in entries(in: directory) where name.hasPrefix(".") && name.hasSuffix("." + JournalFormat.fileExtension + ".new") {
            _ = removeUnlessHeld(directory + "/" + name)
        }
        return files(in: directory).compactMap { try? repair(file: $0) }
    }

    /// Repairs one file; nil when it needs nothing or another process holds it.
    public static func repair(file path: String) throws(JournalError) -> Repair? {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw .system("cannot open", path) }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .system("cannot stat", path) }
        if info.st_size < Int64(JournalFormat.fileHeaderSize) || !hasValidHeader(fd) {
            guard unlink(path) == 0 else { throw .system("cannot remove", path) }
            return Repair(path: path, cutBytes: Int64(info.st_size), keptMessages: 0, removed: true, reason: "incomplete file header")
        }
        if endsWithEndBlock(fd, size: Int64(info.st_size)) { return nil }
        let reader = try JournalFileReader(path: path)
        let summary = reader.summary()
        let reason: String
        switch summary.end {
        case .corrupt: return nil
        case .clean: reason = "not closed"
        case .torn(_, let why): reason = why
        }
        guard ftruncate(fd, off_t(summary.validEnd)) == 0 else { throw .system("cannot truncate", path) }
        if summary.closed {
            // Bytes after the end block: cut, the end block stays.
            _ = fdatasync(fd)
            return Repair(path: path, cutBytes: summary.size - summary.validEnd, keptMessages: summary.messages, removed: false, reason: reason)
        }
        let end = JournalBlockHeader(
            kind: .end, flags: JournalBlockHeader.repairedFlag, length: 0, count: UInt32(clamping: summary.messages),
            firstTime: summary.firstTime ?? 0, lastTime: summary.lastTime ?? 0, payloadCRC: CRC32.checksum([]))
        let bytes = end.encoded()
        guard bytes.withUnsafeBytes({ pwrite(fd, $0.baseAddress, $0.count, off_t(summary.validEnd)) }) == bytes.count else {
            throw .system("cannot write", path)
        }
        _ = fdatasync(fd)
        return Repair(path: path, cutBytes: summary.size - summary.validEnd, keptMessages: summary.messages, removed: false, reason: reason)
    }

    /// Files removed by retention.
    public struct Removal: Sendable, Equatable {
        public var files: [String] = []
        public var bytes: Int64 = 0
    }

    /// Removes the oldest files of `directory` while they are older than the retention's age
    /// or all together larger than its size; never `keep` nor a file another process holds.
    public static func retain(_ directory: String, _ retention: JournalRetention, now: Int64, keep: String?) -> Removal {
        var entries: [(path: String, size: Int64, modified: Int64)] = files(in: directory).compactMap { path in
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            return (path, Int64(info.st_size), Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
        }
        var total = entries.reduce(0) { $0 + $1.size }
        var removal = Removal()
        while let oldest = entries.first {
            let tooOld = retention.maxAge.map { oldest.modified < now - $0.nanoseconds } ?? false
            let tooBig = retention.maxBytes.map { total > $0 } ?? false
            guard tooOld || tooBig else { break }
            entries.removeFirst()
            guard oldest.path != keep, removeUnlessHeld(oldest.path) else { continue }
            total -= oldest.size
            removal.files.append(oldest.path)
            removal.bytes += oldest.size
        }
        return removal
    }

    /// Whether a process holds the file (its writer).
    public static func isHeld(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return flock(fd, LOCK_SH | LOCK_NB) != 0
    }

    private static func removeUnlessHeld(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return false }
        return unlink(path) == 0
    }

    private static func hasValidHeader(_ fd: Int32) -> Bool {
        var bytes = [UInt8](repeating: 0, count: JournalFormat.fileHeaderSize)
        guard bytes.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, $0.count, 0) }) == bytes.count else { return false }
        return (try? bytes.withUnsafeBytes { b throws(JournalFormatError) in try JournalFileHeader(decoding: b) }) != nil
    }

    private static func endsWithEndBlock(_ fd: Int32, size: Int64) -> Bool {
        let at = size - Int64(JournalFormat.blockHeaderSize)
        guard at >= Int64(JournalFormat.fileHeaderSize) else { return false }
        var bytes = [UInt8](repeating: 0, count: JournalFormat.blockHeaderSize)
        guard bytes.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, $0.count, off_t(at)) }) == bytes.count,
              let header = try? bytes.withUnsafeBytes({ b throws(JournalFormatError) in try JournalBlockHeader(decoding: b) })
        else { return false }
        return header.kind == .end && header.length == 0
    }
}
