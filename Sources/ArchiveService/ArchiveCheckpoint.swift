import Archive
import Foundation
import TickBusCore

/// Where the archive stopped on each topic (publisher epoch, sequence number, event time),
/// saved beside the data after every flush, so that a restart can say what it missed while it
/// was down: the first record of a topic after a restart is compared with the saved position.
struct ArchiveCheckpoint {
    struct Position: Equatable {
        var epoch: UInt32
        var sequence: UInt64
        var tsEvent: Int64
    }

    /// What a restart found missing on one topic.
    enum Missed: Equatable {
        /// Records `after.sequence + 1 ..< next.sequence` of the same publisher never arrived.
        case records(topic: Topic, lost: UInt64, after: Position, next: Position)
        /// The publisher restarted too: records after `after` may be missing, how many is unknown.
        case publisherRestarted(topic: Topic, after: Position, next: Position)
    }

    let path: String
    private var positions: [Topic: Position] = [:]
    /// Positions saved by the previous run, not yet compared with a record.
    private var unchecked: [Topic: Position] = [:]
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
            positions[topic] = Position(epoch: epoch, sequence: sequence, tsEvent: tsEvent)
        }
        unchecked = positions
    }

    /// Notes a record received; returns what was missed on its topic if it is the first record
    /// of a topic the previous run had seen.
    @inline(__always)
    mutating func note(_ record: Record) -> Missed? {
        let header = record.header
        let topic = Topic(of: record)
        let next = Position(epoch: header.epoch, sequence: header.sequence, tsEvent: header.tsEvent)
        positions[topic] = next
        dirty = true
        guard !unchecked.isEmpty, let before = unchecked.removeValue(forKey: topic) else { return nil }
        if before.epoch != next.epoch { return .publisherRestarted(topic: topic, after: before, next: next) }
        guard next.sequence > before.sequence + 1 else { return nil }
        return .records(topic: topic, lost: next.sequence - before.sequence - 1, after: before, next: next)
    }

    /// Writes the positions (atomically) if they changed.
    mutating func save() throws(FileError) {
        guard dirty else { return }
        let file = try AtomicFile(path: path)
        try file.write { out in
            for (topic, p) in positions { out.append(contentsOf: "\(topic) \(p.epoch) \(p.sequence) \(p.tsEvent)\n".utf8) }
        }
        try file.commit()
        dirty = false
    }
}
