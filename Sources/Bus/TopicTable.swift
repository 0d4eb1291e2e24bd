import TickBusCore

/// A hash table from topics to small values, for the per-message sequence bookkeeping of
/// publishers and subscribers: open addressing with linear probing and a multiplicative hash of
/// the topic's bytes, instead of `Dictionary`'s per-lookup SipHash. Grows at 50% load; never
/// shrinks (topics are few and long-lived).
struct TopicTable<Value> {
    private var keys: [Topic?]
    private var values: [Value]
    private var mask: Int
    private let empty: Value
    /// Topics stored.
    private(set) var count = 0

    /// `empty` fills unused slots and is the value of a topic when first touched.
    init(empty: Value, capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = Array(repeating: nil, count: size)
        values = Array(repeating: empty, count: size)
        mask = size - 1
        self.empty = empty
    }

    /// Runs `body` on the value of `topic`, inserting ``empty`` first if the topic is new.
    @inline(__always)
    mutating func update<R>(_ topic: Topic, _ body: (inout Value) -> R) -> R {
        var slot = Int(truncatingIfNeeded: topic.tableHash) & mask
        while let key = keys[slot] {
            if key == topic { return body(&values[slot]) }
            slot = (slot + 1) & mask
        }
        if (count + 1) * 2 > keys.count {
            grow()
            return update(topic, body)
        }
        keys[slot] = topic
        count += 1
        return body(&values[slot])
    }

    /// Calls `body` with every stored topic and its value, in table order.
    func forEach(_ body: (Topic, Value) -> Void) {
        for (key, value) in zip(keys, values) {
            if let key { body(key, value) }
        }
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        keys = Array(repeating: nil, count: oldKeys.count * 2)
        values = Array(repeating: empty, count: oldKeys.count * 2)
        mask = keys.count - 1
        count = 0
        for (key, value) in zip(oldKeys, oldValues) {
            if let key { update(key) { $0 = value } }
        }
    }
}
extension TopicTable: Sendable where Value: Sendable {}
