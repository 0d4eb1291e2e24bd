import TickBusCore

/// What one record's epoch and sequence number say about the stream of its topic.
public enum SequenceCheck: Equatable, Sendable {
    /// The next number, or the first record seen on the topic.
    case inOrder
    /// Numbers were skipped: `missing` records between `expected` and `received` were lost.
    case gap(expected: UInt64, received: UInt64)
    /// The publisher restarted: the topic's epoch changed; `lastSequence` was the last number
    /// seen in the previous epoch.
    case restart(previousEpoch: UInt32, lastSequence: UInt64, epoch: UInt32)
    /// A number at or below one already seen in this epoch (a duplicate or reordering).
    case stale(last: UInt64, received: UInt64)
}

/// Per-topic sequence state of a subscriber: detects gaps within an epoch and publisher
/// restarts across epochs.
public struct SequenceTracker: Sendable {
    private struct Position: Sendable {
        var seen = false
        var epoch: UInt32 = 0
        var sequence: UInt64 = 0
        /// The receive time of the topic's last record in order.
        var tsRecv: Int64 = 0
    }

    private var positions = TopicTable(empty: Position())

    public init() {}

    /// Records `header` seen on `topic` and says how it continues the topic's stream.
    public mutating func check(_ topic: Topic, _ header: RecordHeader) -> SequenceCheck {
        positions.update(topic) { SequenceTracker.advance(&$0, header.epoch, header.sequence, header.tsRecv) }
    }

    private static func advance(_ position: inout Position, _ epoch: UInt32, _ sequence: UInt64, _ tsRecv: Int64) -> SequenceCheck {
        let previous = position
        guard previous.seen, previous.epoch == epoch else {
            position = Position(seen: true, epoch: epoch, sequence: sequence, tsRecv: tsRecv)
            return previous.seen ? .restart(previousEpoch: previous.epoch, lastSequence: previous.sequence, epoch: epoch) : .inOrder
        }
        guard sequence > previous.sequence else { return .stale(last: previous.sequence, received: sequence) }
        position.sequence = sequence
        // After a gap the time stays that of the last record before it: no record missing was
        // received before it (a replay need not look earlier).
        guard sequence == previous.sequence + 1 else { return .gap(expected: previous.sequence + 1, received: sequence) }
        position.tsRecv = tsRecv
        return .inOrder
    }

    /// Sets where `topic` stands, as if the record `epoch`/`sequence`, received at `tsRecv`, were
    /// the last one seen in order.
    public mutating func reset(_ topic: Topic, epoch: UInt32, sequence: UInt64, tsRecv: Int64) {
        positions.update(topic) { $0 = Position(seen: true, epoch: epoch, sequence: sequence, tsRecv: tsRecv) }
    }

    /// Forgets `topic`, as if none of its records had been seen.
    public mutating func forget(_ topic: Topic) {
        positions.update(topic) { $0 = Position() }
    }

    /// Whether a record of `topic` was seen, and the receive time of its last one in order.
    public mutating func state(of topic: Topic) -> (seen: Bool, tsRecv: Int64) {
        positions.update(topic) { ($0.seen, $0.tsRecv) }
    }

    /// The last sequence number of every topic seen in `epoch`.
    public func sequences(in epoch: UInt32) -> [Topic: UInt64] {
        var result: [Topic: UInt64] = [:]
        positions.forEach { topic, position in
            if position.seen && position.epoch == epoch { result[topic] = position.sequence }
        }
        return result
    }

    /// Topics seen so far.
    public var topicCount: Int { positions.count }
}
