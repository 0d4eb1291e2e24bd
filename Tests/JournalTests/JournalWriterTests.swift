import Foundation
import Journal
import Testing
import TestSupport
import TickBusCore

/// A fresh directory under the system's temporary directory.
func journalDirectory(_ label: String) -> String {
    NSTemporaryDirectory() + "tickbus-journal-\(label)-\(UUID().uuidString)"
}

/// The bus message of trade `sequence` of `symbol`, stamped as a publisher would.
func tradeMessage(_ symbol: String, _ sequence: UInt64, epoch: UInt32 = 7) throws -> [UInt8] {
    let trade = Trade(
        header: RecordHeader(market: .stocks, tsEvent: 1_700_000_000_000_000_000 + Int64(sequence), tsRecv: 1_700_000_000_000_000_000,
                             symbol: try Symbol(symbol)),
        price: Price(raw: 100_000_000_000 + Int64(sequence)), size: 100, upstreamSequence: Int64(sequence), exchange: 4, tape: 1,
        conditions: Conditions(), tradeID: try FixedString("t\(sequence)"))
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: BusMessage.maxSize, alignment: 8)
    defer { buffer.deallocate() }
    let size = BusMessage.encode(.trade(trade), into: buffer, stamp: (epoch, sequence))
    return Array(buffer[..<size])
}

/// Every message of the files, in order.
func readMessages(_ paths: [String]) throws -> [[UInt8]] {
    var result: [[UInt8]] = []
    for path in paths {
        let reader = try JournalFileReader(path: path)
        let end = reader.forEachMessage { message, _ in
            result.append(Array(message))
            return true
        }
        #expect(end == .clean, "\(path): \(end)")
    }
    return result
}

@Suite struct JournalWriterTests {
    @Test func whatIsAppendedIsReadBackInOrderAndTheFileIsClosed() throws {
        let dir = journalDirectory("roundtrip")
        let journal = try JournalWriter(configuration: .init(directory: dir), publisher: "ingest", epoch: 7)
        let appender = journal.appender()
        var sent: [[UInt8]] = []
        for i in 1...5000 {
            let message = try tradeMessage(i % 2 == 0 ? "AAPL" : "MSFT", UInt64(i))
            sent.append(message)
            message.withUnsafeBytes { appender.append($0) }
            if i % 700 == 0 { appender.flush() }
        }
        appender.flush()
        journal.stop()
        let files = JournalDirectory.files(in: dir)
        try #require(files.count == 1)
        #expect(try readMessages(files) == sent)
        let summary = try JournalFileReader(path: files[0]).summary()
        #expect(summary.closed && !summary.repaired && summary.end == .clean)
        #expect(summary.messages == 5000 && summary.topics == 2)
        #expect(summary.header.epoch == 7 && summary.header.part == 1 && summary.header.publisher == "ingest")
        let name = try #require(JournalFileName(parsing: (files[0] as NSString).lastPathComponent))
        #expect(name.epoch == 7 && name.part == 1)
        #expect(journal.counters.messages == 5000 && journal.counters.lost == 0 && journal.counters.files == 1)
    }

    @Test func aFileRollsIntoPartsAtItsSize() throws {
        let dir = journalDirectory("roll")
        let journal = try JournalWriter(
            configuration: .init(directory: dir, fileSize: 1 << 20, blockSize: 16 << 10), publisher: "bars", epoch: 9)
        let appender = journal.appender()
        var sent: [[UInt8]] = []
        for i in 1...20_000 {
            let message = try tradeMessage("SPY", UInt64(i), epoch: 9)
            sent.append(message)
            message.withUnsafeBytes { appender.append($0) }
        }
        appender.flush()
        journal.stop()
        let files = JournalDirectory.files(in: dir)
        #expect(files.count >= 3)
        for (i, path) in files.enumerated() {
            let summary = try JournalFileReader(path: path).summary()
            #expect(summary.header.part == UInt32(i + 1) && summary.closed)
            #expect(summary.size <= 1 << 20)
        }
        #expect(try readMessages(files) == sent)
    }

    @Test func aTornTailIsCutOnTheNextStartAndReported() throws {
        let dir = journalDirectory("torn")
        let first = try JournalWriter(configuration: .init(directory: dir, blockSize: 4096), publisher: "ingest", epoch: 1)
        let appender = first.appender()
        for i in 1...1000 { try tradeMessage("AAPL", UInt64(i), epoch: 1).withUnsafeBytes { appender.append($0) } }
        appender.flush()
        first.stop()
        let path = try #require(JournalDirectory.files(in: dir).first)
        // A crash: the end block gone and the last block written halfway.
        let whole = try #require(FileManager.default.contents(atPath: path))
        let torn = whole.prefix(whole.count - 40 - 1000)
        try torn.write(to: URL(fileURLWithPath: path))
        let before = try JournalFileReader(path: path).summary()
        guard case .torn = before.end else {
            Issue.record("expected a torn tail, got \(before.end)")
            return
        }
        let events = Box<[JournalWriter.Event]>([])
        let second = try JournalWriter(configuration: .init(directory: dir), publisher: "ingest", epoch: 2)
        second.onEvent { event in events.update { $0.append(event) } }
        second.stop()
        let repairs = events.value.compactMap { event -> JournalDirectory.Repair? in
            if case .repaired(let r) = event { return r } else { return nil }
        }
        #expect(repairs.count == 1)
        #expect(repairs.first?.path == path && repairs.first?.removed == false)
        #expect(repairs.first.map { $0.cutBytes > 0 && $0.keptMessages == before.messages } == true)
        let after = try JournalFileReader(path: path).summary()
        #expect(after.end == .clean && after.closed && after.repaired && after.messages == before.messages)
        let kept = try readMessages([path])
        #expect(kept.count < 1000 && kept.count > 0)
        #expect(kept == (1...kept.count).map { try! tradeMessage("AAPL", UInt64($0), epoch: 1) })
    }

    @Test func damageBeforeTheTailIsCorruptionAndIsLeftAlone() throws {
        let dir = journalDirectory("corrupt")
        let journal = try JournalWriter(configuration: .init(directory: dir, blockSize: 4096), publisher: "ingest", epoch: 3)
        let appender = journal.appender()
        for i in 1...1000 { try tradeMessage("AAPL", UInt64(i), epoch: 3).withUnsafeBytes { appender.append($0) } }
        appender.flush()
        journal.stop()
        let path = try #require(JournalDirectory.files(in: dir).first)
        var bytes = try #require(FileManager.default.contents(atPath: path))
        bytes[JournalFormat.fileHeaderSize + JournalFormat.blockHeaderSize + 100] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        let summary = try JournalFileReader(path: path).summary()
        #expect(summary.end == .corrupt(offset: Int64(JournalFormat.fileHeaderSize), reason: "payload checksum mismatch"))
        #expect(try JournalDirectory.repair(file: path) == nil)
        #expect(FileManager.default.contents(atPath: path) == bytes)
    }

    @Test func aFileWithoutAWholeHeaderIsRemovedByRepair() throws {
        let dir = journalDirectory("header")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/" + JournalFileName(created: 1_764_000_000, epoch: 5, part: 1).description
        try Data(JournalFileHeader(epoch: 5, created: 0, day: 20251124, part: 1, publisher: "x").encoded().prefix(60))
            .write(to: URL(fileURLWithPath: path))
        let repairs = JournalDirectory.repair(dir)
        #expect(repairs.map(\.removed) == [true])
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func retentionRemovesTheOldestBeyondTheSizeButNeverTheOpenFile() throws {
        let dir = journalDirectory("retain")
        for epoch in UInt32(1)...3 {
            let journal = try JournalWriter(configuration: .init(directory: dir, retention: .forever), publisher: "ingest", epoch: epoch)
            let appender = journal.appender()
            for i in 1...2000 { try tradeMessage("AAPL", UInt64(i), epoch: epoch).withUnsafeBytes { appender.append($0) } }
            appender.flush()
            journal.stop()
        }
        let files = JournalDirectory.files(in: dir)
        #expect(files.count == 3)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: files[2])[.size] as? Int64)
        let events = Box<[JournalWriter.Event]>([])
        let journal = try JournalWriter(
            configuration: .init(directory: dir, retention: JournalRetention(maxAge: nil, maxBytes: size + 1000)), publisher: "ingest", epoch: 4)
        journal.onEvent { event in events.update { $0.append(event) } }
        let appender = journal.appender()
        try tradeMessage("AAPL", 1, epoch: 4).withUnsafeBytes { appender.append($0) }
        appender.flush()
        journal.stop()
        let left = JournalDirectory.files(in: dir)
        #expect(left.count == 2 && left[0] == files[2])
        #expect(journal.counters.removedFiles == 2)
        let removed = events.value.flatMap { event -> [String] in
            if case .removed(let r) = event { return r.files } else { return [] }
        }
        #expect(removed == [files[0], files[1]])
    }

    @Test func aMessageLongerThanABlockGetsABlockOfItsOwn() throws {
        let dir = journalDirectory("oversized")
        let journal = try JournalWriter(configuration: .init(directory: dir, blockSize: 1024), publisher: "ingest", epoch: 7)
        let appender = journal.appender()
        let now = WallClock.nanoseconds()
        let status = Status(
            header: RecordHeader(epoch: 7, sequence: 1, tsEvent: now, tsRecv: now, symbol: try Symbol("ingest")), level: .info,
            json: "{\"event\":\"x\",\"detail\":\"" + String(repeating: "y", count: 60_000) + "\"}")
        let big = BusMessage.encode(.status(status))
        #expect(big.count > 60_000)
        var sent: [[UInt8]] = []
        for i in 1...30 {
            let message = i == 15 ? big : try tradeMessage("AAPL", UInt64(i))
            sent.append(message)
            message.withUnsafeBytes { appender.append($0) }
        }
        appender.flush()
        journal.stop()
        #expect(try readMessages(JournalDirectory.files(in: dir)) == sent)
        #expect(journal.counters.lost == 0)
    }

    @Test func settingsParse() throws {
        #expect(JournalSync(parsing: "never") == .never)
        #expect(JournalSync(parsing: "always") == .always)
        #expect(JournalSync(parsing: "0.5") == .every(.milliseconds(500)))
        #expect(JournalSync(parsing: "-1") == nil && JournalSync(parsing: "nan") == nil && JournalSync(parsing: "x") == nil)
        #expect(try JournalRetention(parsing: "7d,20GB") == JournalRetention(maxAge: .seconds(604_800), maxBytes: 20_000_000_000))
        #expect(try JournalRetention(parsing: "512MiB") == JournalRetention(maxAge: nil, maxBytes: 512 << 20))
        #expect(try JournalRetention(parsing: "36h") == JournalRetention(maxAge: .seconds(129_600), maxBytes: nil))
        #expect(try JournalRetention(parsing: "none") == .forever)
        for bad in ["", "7x", "7d,8d", "1GB,2GB", "-5GB", "99999999999999999999GB", "0d"] {
            #expect(throws: JournalError.self, "\(bad)") { try JournalRetention(parsing: bad) }
        }
        #expect(JournalFileName(parsing: "20261203T143000Z-5f3a9c01-0001.tbj") == JournalFileName(
            created: UTCTime.daysSinceEpoch(year: 2026, month: 12, day: 3) * 86_400 + 14 * 3600 + 30 * 60, epoch: 0x5F3A_9C01, part: 1))
        for bad in ["20261303T143000Z-5f3a9c01-0001.tbj", "20261203T143000Z-5f3a9c01-0000.tbj", "x.tbj", "20261203T143000Z-5f3a9c01-0001.txt"] {
            #expect(JournalFileName(parsing: bad) == nil, "\(bad)")
        }
    }
}
