import Synchronization
import TickBusCore

/// Status records that must reach a reader: each goes out at once when some subscriber holds a
/// prefix of `S.<name>`, and otherwise waits until one does (a process that restarts reports
/// before its readers have reconnected). At most `capacity` wait; older ones are dropped and the
/// next one sent says how many (`"dropped_before": N`).
public final class StatusOutbox: Sendable {
    private let publisher: PublisherService
    private let name: Symbol
    private let topic: [UInt8]
    private let capacity: Int
    private let held = Mutex<(records: [Status], dropped: Int)>(([], 0))

    public init(publisher: PublisherService, name: Symbol, capacity: Int = 1000) {
        self.publisher = publisher
        self.name = name
        self.topic = Array((Topic(kind: .status, symbol: name).description + " ").utf8)
        self.capacity = max(1, capacity)
    }

    /// Publishes a status now if it has a reader, else holds it.
    public func send(_ level: StatusLevel, _ json: String) {
        let now = WallClock.nanoseconds()
        let status = Status(
            header: RecordHeader(market: .unknown, tsEvent: now, tsRecv: now, symbol: name), level: level, json: json)
        held.withLock { h in
            h.records.append(status)
            if h.records.count > capacity {
                h.records.removeFirst(h.records.count - capacity)
                h.dropped += 1
            }
        }
        flush()
    }

    /// Publishes what is held once a reader is there; call it now and then (a loop's tick).
    public func flush() {
        guard held.withLock({ !$0.records.isEmpty }), hasReader else { return }
        let (records, dropped) = held.withLock { h in
            defer { h = ([], 0) }
            return h
        }
        for (i, status) in records.enumerated() {
            var status = status
            if i == 0, dropped > 0, let body = try? JSONValue.parse(status.json), case .object(var members) = body {
                members.append(("dropped_before", .number(String(dropped))))
                status = Status(header: status.header, level: status.level, json: JSONValue.object(members).text)
            }
            publisher.submit(.status(status))
        }
    }

    /// Whether a subscriber holds a prefix of this process's status topic.
    private var hasReader: Bool {
        publisher.subscriptions.contains { topic.starts(with: $0) }
    }
}
