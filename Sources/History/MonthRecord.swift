import Archive
import Foundation

/// What a month file holds, kept beside it in `.SYM_YYYY_MM.fetch` (one JSON object) and
/// written after the CSV: the kind of bars, the span fetched (UTC, inclusive), whether the
/// month is complete, and the CSV's rows and bytes. A record whose `bytes` differ from the CSV
/// beside it describes another version of the file and is ignored.
struct MonthRecord: Codable, Equatable, Sendable {
    /// `second`, `minute` or `day`.
    var timespan: String
    var adjusted: Bool
    /// `YYYY-MM-DD HH:MM:SS+00:00`, as the rows.
    var first: String
    var last: String
    var complete: Bool
    var rows: Int
    var bytes: Int

    init(timespan: String, adjusted: Bool, first: Int64, last: Int64, complete: Bool, rows: Int, bytes: Int) {
        self.timespan = timespan
        self.adjusted = adjusted
        self.first = MonthRecord.text(first)
        self.last = MonthRecord.text(last)
        self.complete = complete
        self.rows = rows
        self.bytes = bytes
    }

    var firstSecond: Int64? { MonthRecord.seconds(first) }
    var lastSecond: Int64? { MonthRecord.seconds(last) }

    /// The record's path for a month file: `.SYM_YYYY_MM.fetch` in the same directory.
    static func path(for csvPath: String) -> String {
        let url = URL(fileURLWithPath: csvPath)
        let stem = url.deletingPathExtension().lastPathComponent
        return url.deletingLastPathComponent().appendingPathComponent(".\(stem).fetch").path
    }

    static func read(_ path: String) -> MonthRecord? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(MonthRecord.self, from: data)
    }

    /// Writes the record atomically.
    func write(_ path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let file = try AtomicFile(path: path)
        try file.write(Array(try encoder.encode(self)) + [UInt8(ascii: "\n")])
        try file.commit()
    }

    private static func text(_ seconds: Int64) -> String {
        var out: [UInt8] = []
        BarCSV.appendTime(seconds: seconds, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func seconds(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { try? BarCSV.parseTime($0) }.map { $0 / 1_000_000_000 }
    }
}

/// A month file already on disk, as far as resuming needs it.
struct ExistingMonth {
    /// The record beside it, when it describes this file.
    var record: MonthRecord?
    /// The file starts with the header and its last row parses (or it has none).
    var readable: Bool
    /// Start (Unix seconds) of the last row; nil when the file has no rows.
    var lastStart: Int64?

    /// Looks at the file at `csvPath`; nil when there is none.
    init?(csvPath: String) {
        guard let handle = FileHandle(forReadingAtPath: csvPath) else { return nil }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        let record = MonthRecord.read(MonthRecord.path(for: csvPath))
        self.record = record?.bytes == Int(size) ? record : nil
        try? handle.seek(toOffset: 0)
        let head = (try? handle.read(upToCount: BarCSV.header.utf8.count + 1)) ?? Data()
        guard head.starts(with: Array(BarCSV.header.utf8)) else {
            readable = false
            return
        }
        let tailLength = min(size, 4096)
        try? handle.seek(toOffset: size - tailLength)
        var tail = Array((try? handle.read(upToCount: Int(tailLength))) ?? Data())
        while tail.last == UInt8(ascii: "\n") || tail.last == UInt8(ascii: "\r") { tail.removeLast() }
        let line = tail.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).last.map(Array.init) ?? []
        if line.elementsEqual(BarCSV.header.utf8) {
            readable = true
        } else if let row = line.withUnsafeBytes({ try? BarCSV.parse($0) }) {
            readable = true
            lastStart = row.start / 1_000_000_000
        } else {
            readable = false
        }
    }
}
