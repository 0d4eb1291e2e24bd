import Foundation

/// A bounded FIFO of encoded q messages between a producer thread and a sender thread (`kdb
/// publish`). Each message has a weight (its rows); past the bound, the oldest messages are dropped.
final class MessageQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [(bytes: [UInt8], weight: Int)] = []
    private var head = 0
    private var total = 0
    private var closed = false
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Appends, dropping the oldest messages until the new one fits; returns the weight dropped.
    func pushDroppingOldest(_ bytes: [UInt8], weight: Int) -> Int {
        condition.lock()
        defer { condition.unlock() }
        var dropped = 0
        while total + weight > capacity && head < items.count {
            dropped += items[head].weight
            total -= items[head].weight
            items[head] = ([], 0)
            head += 1
        }
        compact()
        items.append((bytes, weight))
        total += weight
        condition.signal()
        return dropped
    }

    /// Puts a message that could not be sent back at the front.
    func pushFront(_ bytes: [UInt8], weight: Int) {
        condition.lock()
        defer { condition.unlock() }
        if head > 0 {
            head -= 1
            items[head] = (bytes, weight)
        } else {
            items.insert((bytes, weight), at: 0)
        }
        total += weight
    }

    /// The oldest message, waiting up to `timeoutMs`; nil on timeout or when closed and empty.
    func pop(timeoutMs: Int) -> (bytes: [UInt8], weight: Int)? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: Double(timeoutMs) / 1000)
        while head == items.count {
            if closed || !condition.wait(until: deadline) { return nil }
        }
        let item = items[head]
        items[head] = ([], 0)
        head += 1
        total -= item.weight
        compact()
        return item
    }

    /// Total weight queued.
    var weight: Int {
        condition.lock()
        defer { condition.unlock() }
        return total
    }

    /// Wakes waiters: ``pop(timeoutMs:)`` no longer waits.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    private func compact() {
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
    }
}
