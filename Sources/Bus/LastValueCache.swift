import Synchronization
import TickBusCore

/// The last record published on each topic, stamped with its epoch and sequence number, for
/// late joiners (the zguide's Clone pattern): subscribe first, then take a snapshot, then skip
/// live records whose sequence is not above the snapshot's for their topic.
///
/// The publisher thread stores a whole batch under one lock; readers copy what they need.
public final class LastValueCache: Sendable {
    private let table = Mutex(TopicTable<Record?>(empty: nil))

    public init() {}

    /// Topics cached.
    public var count: Int { table.withLock { $0.count } }

    /// Runs `body` with a function that stores one stamped record, under one lock.
    func storing<R, E: Error>(_ body: (_ store: (Topic, Record) -> Void) throws(E) -> R) throws(E) -> R {
        try table.withLock { (table: inout TopicTable<Record?>) throws(E) -> R in
            try body { topic, record in table.update(topic) { $0 = record } }
        }
    }

    /// The cached records whose topic passes any of `filters`, in topic order.
    public func records(matching filters: [TopicFilter]) -> [Record] {
        var matched: [(String, Record)] = []
        table.withLock { table in
            table.forEach { topic, record in
                guard let record else { return }
                let prefix = Array(topic.exactPrefix.utf8)
                let passes = prefix.withUnsafeBytes { bytes in filters.contains { $0.matches(bytes) } }
                if passes { matched.append((topic.description, record)) }
            }
        }
        return matched.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// The symbols with a cached record of `kind`.
    public func symbols(of kind: TopicKind) -> [Symbol] {
        var symbols: [Symbol] = []
        table.withLock { table in
            table.forEach { topic, record in
                if record != nil, topic.kind == kind { symbols.append(topic.symbol) }
            }
        }
        return symbols.sorted { $0.description < $1.description }
    }
}
