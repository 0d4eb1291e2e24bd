#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Archive
import TickBusCore

/// A month's CSV being written: the header (or the rows of the file already there), then bars
/// in time order, all under a temporary name that ``commit()`` renames over the month's file,
/// so readers and crashes see the old file or the new one, never a part of one.
struct MonthFile: ~Copyable {
    let path: String
    private var file: AtomicFile
    /// Rows in the file, kept ones included.
    private(set) var rows = 0
    /// Bytes of the whole file.
    private(set) var bytes = 0
    /// Start (Unix seconds) of the last row.
    private(set) var lastStart: Int64?

    /// Starts a new file at `path`, or one that begins with the rows of the file there
    /// (`keeping`, whose last row starts at `lastStart`).
    init(path: String, keeping: Bool, lastStart: Int64? = nil) throws(FileError) {
        var file = try AtomicFile(path: path)
        if keeping {
            (rows, bytes) = try MonthFile.copy(path, into: &file)
            self.lastStart = lastStart
        } else {
            let header = Array((BarCSV.header + "\n").utf8)
            try file.write(header)
            bytes = header.count
        }
        self.path = path
        self.file = file
    }

    /// Appends the bars of `records` that start within `window` (Unix seconds) and after the
    /// last row; returns how many rows that made.
    mutating func append(_ records: [Record], within window: ClosedRange<Int64>) throws(FileError) -> Int {
        var added = 0
        var addedBytes = 0
        var last = lastStart ?? Int64.min
        try file.write { out in
            let before = out.count
            for case .bar(let bar) in records {
                let second = bar.header.tsEvent >= 0
                    ? bar.header.tsEvent / 1_000_000_000 : (bar.header.tsEvent + 1) / 1_000_000_000 - 1
                guard window.contains(second), second > last else { continue }
                BarCSV.append(BarRow(bar), to: &out)
                last = second
                added += 1
            }
            addedBytes = out.count - before
        }
        if added > 0 { lastStart = last }
        rows += added
        bytes += addedBytes
        return added
    }

    /// Writes, syncs and renames the file over `path`.
    consuming func commit() throws(FileError) {
        try file.commit()
    }

    /// Copies the file at `path` into `file`, adding the newline a last row may lack; returns
    /// its rows and the bytes written.
    private static func copy(_ path: String, into file: inout AtomicFile) throws(FileError) -> (rows: Int, bytes: Int) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileError(path, errno, "cannot open") }
        defer { close(fd) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var newlines = 0
        var bytes = 0
        var lastByte = UInt8(ascii: "\n")
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw FileError(path, errno, "cannot read") }
            if n == 0 { break }
            let part = Array(chunk[..<n])
            newlines += part.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
            lastByte = part[n - 1]
            try file.write(part)
            bytes += n
        }
        if lastByte != UInt8(ascii: "\n") {
            try file.write([UInt8(ascii: "\n")])
            bytes += 1
            newlines += 1
        }
        return (max(newlines - 1, 0), bytes)
    }
}
