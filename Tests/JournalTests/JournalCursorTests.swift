import Foundation
import Journal
import Testing
import TestSupport
import TickBusCore

/// What a cursor handed out until its head: the messages, the hole ranges and the damage seen.
private struct Drained {
    var messages: [[UInt8]] = []
    var holes: [JournalHoles.Range] = []
    var damaged = 0
}

private func drain(_ cursor: JournalCursor) -> Drained {
    var result = Drained()
    while true {
        switch cursor.next() {
        case .messages(let bytes, let count):
            let before = result.messages.count
            var offset = 0
            while offset < bytes.count {
                let size = Int(bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                result.messages.append(Array(bytes[(offset + 4)..<(offset + 4 + size)]))
                offset += 4 + size
            }
            #expect(result.messages.count - before == count)
        case .hole(_, _, let ranges): result.holes += ranges
        case .damaged: result.damaged += 1
        case .scanning: continue
        case .head: return result
        }
    }
}

/// Writes `count` trades alternating AAPL and MSFT (sequence i of each, from 1) into a closed
/// journal of epoch `epoch` and returns the messages in order.
private func writeJournal(_ dir: String, epoch: UInt32, count: Int, fileSize: Int64 = 1_000_000_000) throws -> [[UInt8]] {
    let journal = try JournalWriter(configuration: .init(directory: dir, fileSize: fileSize, blockSize: 4096, queueBlocks: 20_000), publisher: "ingest", epoch: epoch)
    let appender = journal.appender()
    var sent: [[UInt8]] = []
    for i in 0..<count {
        let message = try tradeMessage(i % 2 == 0 ? "AAPL" : "MSFT", UInt64(i / 2 + 1), epoch: epoch)
        sent.append(message)
        message.withUnsafeBytes { appender.append($0) }
    }
    appender.flush()
    journal.stop()
    return sent
}

private func topicOf(_ message: [UInt8]) -> String {
    String(decoding: message.prefix { $0 != 0x20 }, as: UTF8.self)
}

@Suite struct JournalCursorTests {
    @Test func fromTheBeginningEveryMessageComesInOrderAcrossFilesAndEpochs() throws {
        let dir = journalDirectory("cursor-all")
        let first = try writeJournal(dir, epoch: 1, count: 30_000, fileSize: 1 << 20)
        let second = try writeJournal(dir, epoch: 2, count: 1000)
        #expect(JournalDirectory.files(in: dir).count >= 3)
        let cursor = try JournalCursor(directory: dir, start: .beginning, filters: [])
        let got = drain(cursor)
        #expect(sameElements(got.messages, first + second))
        #expect(got.holes.isEmpty && got.damaged == 0)
    }

    @Test func filtersKeepTheirTopicsOnly() throws {
        let dir = journalDirectory("cursor-filter")
        let sent = try writeJournal(dir, epoch: 1, count: 5000)
        let got = drain(try JournalCursor(directory: dir, start: .beginning, filters: [try TopicFilter("T.MSFT")]))
        #expect(sameElements(got.messages, sent.filter { topicOf($0) == "T.MSFT" }))
        let none = drain(try JournalCursor(directory: dir, start: .beginning, filters: [try TopicFilter("Q.")]))
        #expect(none.messages.isEmpty)
    }

    @Test func afterSequencesOfAnEpochGivesWhatFollowsThemThenLaterEpochs() throws {
        let dir = journalDirectory("cursor-after")
        let first = try writeJournal(dir, epoch: 5, count: 4000)
        let second = try writeJournal(dir, epoch: 6, count: 100)
        let aapl = try Topic(parsing: "T.AAPL")
        let got = drain(try JournalCursor(directory: dir, start: .after(epoch: 5, sequences: [aapl: 1500]), filters: []))
        let expected = first.filter { message in
            guard topicOf(message) == "T.AAPL" else { return true }
            return message.withUnsafeBytes { BusMessage.stamp(of: $0)!.sequence } > 1500
        } + second
        #expect(sameElements(got.messages, expected))
        #expect(throws: JournalCursorError.unknownEpoch(9)) {
            try JournalCursor(directory: dir, start: .after(epoch: 9, sequences: [:]), filters: [])
        }
    }

    @Test func aTimeStartsAtTheFirstBlockAppendedSinceThen() throws {
        let dir = journalDirectory("cursor-time")
        let early = try writeJournal(dir, epoch: 1, count: 2000)
        Thread.sleep(forTimeInterval: 0.05)
        let since = WallClock.nanoseconds()
        let late = try writeJournal(dir, epoch: 2, count: 2000)
        #expect(sameElements(drain(try JournalCursor(directory: dir, start: .time(since), filters: [])).messages, late))
        #expect(sameElements(drain(try JournalCursor(directory: dir, start: .time(0), filters: [])).messages, early + late))
    }

    @Test func aLiveJournalIsFollowedAsItGrows() throws {
        let dir = journalDirectory("cursor-live")
        let journal = try JournalWriter(configuration: .init(directory: dir, blockSize: 4096), publisher: "ingest", epoch: 3)
        let appender = journal.appender()
        defer { journal.stop() }
        var sent: [[UInt8]] = []
        func append(_ count: Int) throws {
            for _ in 0..<count {
                let message = try tradeMessage("AAPL", UInt64(sent.count + 1), epoch: 3)
                sent.append(message)
                message.withUnsafeBytes { appender.append($0) }
            }
            appender.flush()
        }
        func waitWritten() {
            let deadline = Date().addingTimeInterval(20)
            while journal.counters.messages < UInt64(sent.count) && Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        }
        try append(1000)
        waitWritten()
        let cursor = try JournalCursor(directory: dir, start: .beginning, filters: [])
        var got = drain(cursor).messages
        #expect(sameElements(got, sent))
        try append(3000)
        waitWritten()
        got += drain(cursor).messages
        #expect(sameElements(got, sent))
    }

    @Test func holesOnTheReplayedTopicsAreHandedOut() throws {
        let dir = journalDirectory("cursor-hole")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("golden/journal-v1.tbj")
        let name = JournalFileName(created: 1_704_205_795, epoch: 1_732_233_600, part: 1).description
        try FileManager.default.copyItem(atPath: golden.path, toPath: dir + "/" + name)
        let all = drain(try JournalCursor(directory: dir, start: .beginning, filters: []))
        #expect(all.messages.count == 14)
        #expect(!all.holes.isEmpty)
        for range in all.holes {
            let one = drain(try JournalCursor(directory: dir, start: .beginning, filters: [try TopicFilter(range.topic)]))
            #expect(one.holes.contains(range))
            let past = drain(try JournalCursor(
                directory: dir, start: .after(epoch: 1_732_233_600, sequences: [try Topic(parsing: range.topic): range.last]), filters: []))
            #expect(!past.holes.contains { $0.topic == range.topic })
        }
    }
}
