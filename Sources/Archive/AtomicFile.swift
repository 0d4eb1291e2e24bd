#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private let systemWrite = write

/// A file written under a temporary name in its directory and renamed over the final name on
/// ``commit()``: readers and crashes see the old file or the new one, never a part.
public final class AtomicFile {
    public let path: String
    private let temporary: String
    private var fd: Int32
    private var pending: [UInt8] = []

    /// Creates the directory if needed and opens the temporary file.
    public init(path: String) throws(FileError) {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        try AtomicFile.makeDirectories(directory)
        temporary = directory + "/." + name + ".tmp-\(getpid())"
        fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw FileError(temporary, errno, "cannot create") }
        pending.reserveCapacity(1 << 20)
    }

    deinit {
        if fd >= 0 {
            close(fd)
            unlink(temporary)
        }
    }

    /// Appends bytes (buffered; written in blocks of 1 MiB).
    public func write(_ bytes: [UInt8]) throws(FileError) {
        pending.append(contentsOf: bytes)
        if pending.count >= 1 << 20 { try flush() }
    }

    /// Appends bytes the caller built in `build`.
    public func write(_ build: (inout [UInt8]) -> Void) throws(FileError) {
        build(&pending)
        if pending.count >= 1 << 20 { try flush() }
    }

    private func flush() throws(FileError) {
        var offset = 0
        while offset < pending.count {
            let n = pending.withUnsafeBytes { systemWrite(fd, $0.baseAddress! + offset, $0.count - offset) }
            guard n > 0 else {
                if n < 0, errno == EINTR { continue }
                throw FileError(temporary, errno, "cannot write")
            }
            offset += n
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Writes what is buffered, syncs, closes and renames over `path`. Once only.
    public func commit() throws(FileError) {
        guard fd >= 0 else { throw FileError(path, 0, "already committed") }
        try flush()
        guard fsync(fd) == 0 else { throw FileError(temporary, errno, "cannot sync") }
        close(fd)
        fd = -1
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw FileError(path, code, "cannot rename \(temporary) to")
        }
    }

    /// `mkdir -p`.
    public static func makeDirectories(_ directory: String) throws(FileError) {
        var path = ""
        for component in directory.split(separator: "/", omittingEmptySubsequences: false) {
            path += (path.isEmpty && component.isEmpty) ? "/" : (path.isEmpty || path == "/" ? "" : "/") + component
            if component.isEmpty { continue }
            if mkdir(path, 0o755) != 0, errno != EEXIST { throw FileError(path, errno, "cannot create directory") }
        }
    }
}
