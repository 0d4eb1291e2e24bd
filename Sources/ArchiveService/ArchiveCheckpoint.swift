import Archive
import Foundation
import TickBusCore

/// Where the archive's files end on each topic (publisher epoch, sequence number, event time),
/// saved beside the data after every flush, so that a restart can say what it missed while it
/// was down: the first record of a topic after a restart is compared with the saved position.
///
/// A position advances only with what is written to the files: rows kept in memory for a file
/// that cannot be written do not count, so after a crash they are reported as missed like the
/// records that came while the archive was down.
struct ArchiveCheckpoint {
    struct Position: Equatable {
        var epoch: UInt32
        var sequence: UInt64
        var tsEvent: Int64
    }

    /// What a restart found missing on one topic.
    enum Missed: Equatable {
        /// Records `after.sequence + 1 ..< next.sequence` of the same publisher never reached the
        /// files; `after` is nil for a topic the files did not have yet (records `1 ..< next`).
        case records(topic: Topic, lost: UInt64, after: Position?, next: Position)
        /// The publisher restarted too: records after `after` may be missing, how many is unknown.
        case publisherRestarted(topic: Topic, after: Position, next: Position)
    }

    /// The newest record of a topic received since the last flush, and the files it went to
    /// (two at most: a month can end between flushes).
    private struct Received {
        var position: Position
        var file: ArchiveWriter.FileID
        var earlierFile: ArchiveWriter.FileID?
    }

    let path: String
    /// What the files hold, as saved.
    private var written: [Topic: Position] = [:]
    /// Received but not known to be written yet.
    private var received: [Topic: Received] = [:]
    /// Positions saved by the previous run, not yet compared with a record.
    private var unchecked: [Topic: Position] = [:]
    /// Epochs the previous run had seen: a topic new to the files in one of them was published
    /// from sequence 1 on, so what came before its first record here was missed.
    private var knownEpochs: Set<UInt32> = []
    private var dirty = false

    /// Loads the previous run's positions (none when the file is missing or unreadable).
    init(path: String) {
        self.path = path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 4, let topic = try? Topic(parsing: fields[0]), let epoch = UInt32(fields[1]),
                  let sequence = UInt64(fields[2]), let tsEvent = Int64(fields[3])
            else { continue }
            written[topic] = Position(epoch: epoch, sequence: sequence, tsEvent: tsEvent)
        }
        unchecked = written
        knownEpochs = Set(written.values.map(\.epoch))
    }

    /// Notes a record that went to `file`; returns what was missed on its topic if it is the
    /// first record of the topic since the restart.
    @inline(__always)
    mutating func note(_ record: Record, file: ArchiveWriter.FileID) -> Missed? {
        let header = record.header
        let topic = Topic(of: record)
        let next = Position(epoch: header.epoch, sequence: header.sequence, tsEvent: header.tsEvent)
        if var entry = received[topic] {
            // Seen since the last flush: its first record since the restart was checked then.
            if entry.file != file {
                entry.earlierFile = entry.earlierFile ?? entry.file
                entry.file = file
            }
            entry.position = next
            received[topic] = entry
            return nil
        }
        received[topic] = Received(position: next, file: file, earlierFile: nil)
        let isNew = written[topic] == nil
        guard !knownEpochs.isEmpty else { return nil }
        if isNew {
            guard knownEpochs.contains(next.epoch), next.sequence > 1 else { return nil }
            return .records(topic: topic, lost: next.sequence - 1, after: nil, next: next)
        }
        guard !unchecked.isEmpty, let before = unchecked.removeValue(forKey: topic) else { return nil }
        if before.epoch != next.epoch { return .publisherRestarted(topic: topic, after: before, next: next) }
        guard next.sequence > before.sequence + 1 else { return nil }
        return .records(topic: topic, lost: next.sequence - before.sequence - 1, after: before, next: next)
    }

    /// After a flush: the topics whose files hold every row received advance to their newest
    /// record; the others stay where their files end.
    mutating func advance(written isWritten: (ArchiveWriter.FileID) -> Bool) {
        for (topic, entry) in received where isWritten(entry.file) && entry.earlierFile.map(isWritten) != false {
            written[topic] = entry.position
            received[topic] = nil
            dirty = true
        }
    }

    /// Writes the positions (atomically) if they changed.
    mutating func save() throws(FileError) {
        guard dirty else { return }
        let file = try AtomicFile(path: path)
        try file.write { out in
            for (topic, p) in written { out.append(contentsOf: "\(topic) \(p.epoch) \(p.sequence) \(p.tsEvent)\n".utf8) }
        }
        try file.commit()
        dirty = false
    }
}
