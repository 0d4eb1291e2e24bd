import TickBusCore

/// What one record's epoch and sequence number say about the stream of its topic.
public enum SequenceCheck: Equatable, Sendable {
    /// The next number, or the first record seen on the topic.
    case inOrder
    /// Numbers were skipped: `missing` records between `expected` and `received` were lost.
    case gap(expected: UInt64, received: UInt64)
    /// The publisher restarted: the topic's epoch changed.
    case restart(previousEpoch: UInt32, epoch: UInt32)
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
    }

    private var positions = TopicTable(empty: Position())

    public init() {}

    /// Records `header` seen on `topic` and says how it continues the topic's stream.
    public mutating func check(_ topic: Topic, _ header: RecordHeader) -> SequenceCheck {
        positions.update(topic) { SequenceTracker.advance(&$0, header.epoch, header.sequence) }
    }

    private static func advance(_ position: inout Position, _ epoch: UInt32, _ sequence: UInt64) -> SequenceCheck {
        let previous = position
        guard previous.seen, previous.epoch == epoch else {
            position = Position(seen: true, epoch: epoch, sequence: sequence)
            return previous.seen ? .restart(previousEpoch: previous.epoch, epoch: epoch) : .inOrder
        }
        guard sequence > previous.sequence else { return .stale(last: previous.sequence, received: sequence) }
        position.sequence = sequence
        return sequence == previous.sequence + 1 ? .inOrder : .gap(expected: previous.sequence + 1, received: sequence)
    }

    /// Topics seen so far.
    public var topicCount: Int { positions.count }
}
