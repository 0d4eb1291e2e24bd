import Archive
import Foundation
import Testing
import TickBusCore

/// A temporary directory removed when the test ends.
final class TemporaryDirectory {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "tickbus-archive-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func read(_ relative: String) throws -> String { try String(contentsOfFile: path + "/" + relative, encoding: .utf8) }
}

private let t0: Int64 = 1_704_187_800_000_000_000

/// A bar row whose close tells versions apart.
private func barLine(_ second: Int64, close: Int64 = 1) -> (key: Int64, line: String) {
    let row = BarRow(start: t0 + second * 1_000_000_000, open: Price(units: 1), high: Price(units: 9), low: Price(units: 1),
                     close: Price(units: close), volume: Double(second))
    return (row.start, BarCSV.line(row))
}

private func batch(_ rows: [(key: Int64, line: String)]) -> CSVBatch {
    var batch = CSVBatch()
    for row in rows { batch.append(key: row.key) { $0.append(contentsOf: (row.line + "\n").utf8) } }
    return batch
}

@Suite struct SortedCSVFileTests {
    @Test func appendsThenReplacesARevisedBar() throws {
        let dir = try TemporaryDirectory()
        let file = SortedCSVFile(path: dir.path + "/raw_1s/X/X_2024_01.csv", header: BarCSV.header, rule: .replace)
        try file.write(batch((0..<5).map { barLine($0) }))
        try file.write(batch([barLine(2, close: 7), barLine(5)]))
        try file.write(batch([barLine(5, close: 8)]))
        let lines = try dir.read("raw_1s/X/X_2024_01.csv").split(separator: "\n").map(String.init)
        #expect(lines == [BarCSV.header] + [barLine(0), barLine(1), barLine(2, close: 7), barLine(3), barLine(4), barLine(5, close: 8)].map(\.line))
    }

    /// Random batches (in order, out of order, revisions far back) against a dictionary model,
    /// on a file large enough for the binary search; reopened between some batches.
    @Test func staysSortedWithOneRowPerKeyAgainstAModel() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/a/b.csv"
        var file = SortedCSVFile(path: path, header: BarCSV.header, rule: .replace)
        var model: [Int64: String] = [:]
        var generator = SystemRandomNumberGenerator()
        var next: Int64 = 0
        for round in 0..<60 {
            var rows: [(key: Int64, line: String)] = []
            for _ in 0..<Int.random(in: 1...400, using: &generator) {
                let second: Int64
                switch Int.random(in: 0..<10, using: &generator) {
                case 0..<7: second = next; next += 1
                case 7: second = max(0, next - Int64.random(in: 1...20, using: &generator))
                default: second = Int64.random(in: 0...max(0, next), using: &generator)
                }
                let row = barLine(second, close: Int64.random(in: 1...1000, using: &generator))
                rows.append(row)
                model[row.key] = row.line
            }
            try file.write(batch(rows))
            if round % 7 == 0 {
                file.close()
                file = SortedCSVFile(path: path, header: BarCSV.header, rule: .replace)
            }
        }
        file.close()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count > 2000)
        #expect(lines == [BarCSV.header] + model.keys.sorted().map { model[$0]! })
    }

    @Test func tradesKeepDistinctRowsAndDropRepeatsThatDifferOnlyInReceiveTime() throws {
        let dir = try TemporaryDirectory()
        let file = SortedCSVFile(path: dir.path + "/t.csv", header: RecordCSV.tradeHeader, rule: .dropIdentical)
        func trade(_ ms: Int64, _ id: String, recv: Int64) -> (key: Int64, line: String) {
            let t = Trade(header: RecordHeader(market: .stocks, tsEvent: t0 + ms * 1_000_000, tsRecv: t0 + recv, symbol: "X"),
                          price: Price(units: 10), size: 100, upstreamSequence: ms, tradeID: try! FixedString(id))
            var out: [UInt8] = []
            RecordCSV.append(t, to: &out)
            return (t.header.tsEvent, String(decoding: out.dropLast(), as: UTF8.self))
        }
        let (a, b, c, d) = (trade(1, "a", recv: 5), trade(1, "b", recv: 6), trade(2, "c", recv: 7), trade(0, "d", recv: 8))
        let written = try file.write(batch([a, b, c]))
        #expect(written == (3, 0))
        // The same events received again (a backfill), one new one earlier, one repeated in the batch.
        let again = try file.write(batch([trade(1, "b", recv: 99), d, trade(2, "c", recv: 98), d]))
        #expect(again == (1, 3))
        let lines = try dir.read("t.csv").split(separator: "\n").map(String.init)
        #expect(lines == [RecordCSV.tradeHeader, d.line, a.line, b.line, c.line])
    }

    @Test func aTornLastLineIsCutOnOpen() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/x.csv"
        let whole = [BarCSV.header, barLine(0).line, barLine(1).line].joined(separator: "\n") + "\n"
        try (whole + String(barLine(2).line.prefix(17))).write(toFile: path, atomically: false, encoding: .utf8)
        let file = SortedCSVFile(path: path, header: BarCSV.header, rule: .replace)
        try file.write(batch([barLine(1, close: 5), barLine(2)]))
        #expect(file.repairedBytes == 17)
        #expect(try String(contentsOfFile: path, encoding: .utf8)
            == [BarCSV.header, barLine(0).line, barLine(1, close: 5).line, barLine(2).line].joined(separator: "\n") + "\n")
    }

    @Test func aHalfWrittenHeaderIsCompletedAndAForeignFileRefused() throws {
        let dir = try TemporaryDirectory()
        try "ts_ev".write(toFile: dir.path + "/half.csv", atomically: false, encoding: .utf8)
        try SortedCSVFile(path: dir.path + "/half.csv", header: BarCSV.header, rule: .replace).write(batch([barLine(0)]))
        #expect(try dir.read("half.csv") == BarCSV.header + "\n" + barLine(0).line + "\n")
        try "date,price\n1,2\n".write(toFile: dir.path + "/other.csv", atomically: false, encoding: .utf8)
        #expect(throws: FileError.self) {
            try SortedCSVFile(path: dir.path + "/other.csv", header: BarCSV.header, rule: .replace).write(batch([barLine(0)]))
        }
        #expect(try dir.read("other.csv") == "date,price\n1,2\n")
    }

    /// A crash between writing the journal and rewriting the file: the next open finishes the
    /// rewrite. A journal cut short (the crash came before the file was touched) is ignored.
    @Test func aJournalLeftByACrashIsReplayedAndAPartialOneIgnored() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/j.csv"
        let rows = (0..<3).map { barLine($0).line }
        let original = ([BarCSV.header] + rows).joined(separator: "\n") + "\n"
        try original.write(toFile: path, atomically: false, encoding: .utf8)
        let offset = Int64(BarCSV.header.utf8.count + 1 + rows[0].utf8.count + 1)
        let tail = Array((barLine(1, close: 4).line + "\n" + rows[2] + "\n").utf8)
        var journal = Array("TBJ1".utf8)
        withUnsafeBytes(of: offset.littleEndian) { journal.append(contentsOf: $0) }
        withUnsafeBytes(of: Int64(tail.count).littleEndian) { journal.append(contentsOf: $0) }
        journal.append(contentsOf: tail)
        try Data(journal.dropLast(3)).write(to: URL(fileURLWithPath: dir.path + "/.j.csv.journal"))
        let first = SortedCSVFile(path: path, header: BarCSV.header, rule: .replace)
        try first.open()
        #expect(!first.replayedJournal)
        first.close()
        #expect(try dir.read("j.csv") == original)

        journal.append(contentsOf: Array("TBJ1".utf8))
        try Data(journal).write(to: URL(fileURLWithPath: dir.path + "/.j.csv.journal"))
        let second = SortedCSVFile(path: path, header: BarCSV.header, rule: .replace)
        try second.open()
        #expect(second.replayedJournal)
        second.close()
        #expect(try dir.read("j.csv") == ([BarCSV.header, rows[0], barLine(1, close: 4).line, rows[2]]).joined(separator: "\n") + "\n")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/.j.csv.journal"))
    }
}
