import Bus
import Foundation
import Synchronization
import Testing
import TestSupport
import TickBusCore
import ZeroMQ

// MARK: Time

/// Monotonic microseconds.
func nowMicroseconds() -> Int64 {
    Int64(DispatchTime.now().uptimeNanoseconds / 1_000)
}

func sleep(milliseconds: Double) {
    Thread.sleep(forTimeInterval: milliseconds / 1000)
}

// MARK: Records

let baseTime: Int64 = 1_704_205_800_000_000_000  // 2024-01-02T14:30:00Z

func sym(_ text: String) -> Symbol { try! Symbol(text) }

func filter(_ pattern: String) -> TopicFilter { try! TopicFilter(pattern) }

func trade(_ symbol: String, _ i: Int = 0, upstream: Int64? = nil) -> Record {
    .trade(Trade(
        header: RecordHeader(
            market: .stocks, tsEvent: baseTime + Int64(i) * 1_000_000, tsRecv: baseTime + Int64(i) * 1_000_000 + 5_000,
            symbol: sym(symbol)),
        price: Price(raw: 114_125_000_000 + Int64(i) * 10_000_000), size: Double(100 + i),
        upstreamSequence: upstream ?? Int64(1000 + i), exchange: 4, tape: 3,
        conditions: try! Conditions([12, UInt16(i % 60)]), tradeID: try! FixedString("id\(i)")))
}

func quote(_ symbol: String, _ i: Int = 0) -> Record {
    .quote(Quote(
        header: RecordHeader(
            market: .stocks, tsEvent: baseTime + Int64(i) * 1_000_000 + 1, tsRecv: baseTime + Int64(i) * 1_000_000 + 9,
            symbol: sym(symbol)),
        bidPrice: Price(raw: 114_120_000_000 + Int64(i)), askPrice: Price(raw: 114_130_000_000 + Int64(i)),
        bidSize: 300, askSize: 0.5 + Double(i), upstreamSequence: Int64(5000 + i), bidExchange: 11,
        askExchange: 12, condition: 1, tape: 3))
}

/// A 1-second upstream bar (topic `A.<symbol>`).
func bar(_ symbol: String, _ i: Int = 0, vwap: Price = Price(raw: 114_126_500_000)) -> Record {
    .bar(Bar(
        header: RecordHeader(
            market: .stocks, tsEvent: baseTime + Int64(i) * 1_000_000_000, tsRecv: baseTime + Int64(i + 1) * 1_000_000_000,
            symbol: sym(symbol)),
        open: Price(units: 114), high: Price(raw: 114_500_000_000), low: Price(raw: 113_990_000_001),
        close: Price(raw: 114_250_000_000 + Int64(i)), vwap: vwap, volume: 1234.5 + Double(i), tradeCount: UInt64(17 + i),
        interval: .second))
}

/// `record` as a publisher stamps it.
func stamped(_ record: Record, epoch: UInt32, sequence: UInt64) -> Record {
    var r = record
    r.header.epoch = epoch
    r.header.sequence = sequence
    return r
}

extension BusEvent {
    var record: Record? {
        if case .record(let r) = self { return r }
        return nil
    }

    var isHeartbeatCheck: Bool {
        switch self {
        case .silent, .resumed: true
        default: false
        }
    }
}

extension Record {
    var topic: String { Topic(of: self).description }
}

// MARK: Receiving

/// Calls `next` until `done` returns true for an event (it sees each event once, in order) or
/// `milliseconds` pass; returns every event seen.
func collect(
    _ subscriber: Subscriber, within milliseconds: Int64, until done: (BusEvent) -> Bool
) throws -> [BusEvent] {
    var events: [BusEvent] = []
    let deadline = nowMilliseconds() + milliseconds
    while true {
        let left = deadline - nowMilliseconds()
        if left <= 0 { break }
        if let event = try subscriber.next(timeout: .milliseconds(min(left, 50))) {
            events.append(event)
            if done(event) { break }
        }
    }
    return events
}

/// Collects until `count` records arrived (or `milliseconds` passed).
func collect(_ subscriber: Subscriber, records count: Int, within milliseconds: Int64 = 3000) throws -> [BusEvent] {
    var records = 0
    return try collect(subscriber, within: milliseconds) { event in
        if case .record = event { records += 1 }
        return records >= count
    }
}

/// Every event arriving in the next `milliseconds` (to check that nothing more comes).
func drain(_ subscriber: Subscriber, for milliseconds: Int64) throws -> [BusEvent] {
    try collect(subscriber, within: milliseconds) { _ in false }
}

// MARK: Publishers

/// Calls `service()` until the publisher's subscriptions hold every prefix in `prefixes`.
func waitForSubscriptions(_ publisher: Publisher, _ prefixes: [String], within milliseconds: Int64 = 5000) throws -> Bool {
    let wanted = Set(prefixes.map { Array($0.utf8) })
    let deadline = nowMilliseconds() + milliseconds
    while nowMilliseconds() < deadline {
        try publisher.service()
        if wanted.isSubset(of: publisher.subscriptions) { return true }
        sleep(milliseconds: 2)
    }
    return false
}

/// A bare XPUB socket that sends hand-made bus messages: arbitrary epochs, sequence numbers and
/// malformed bytes.
final class RawPublisher {
    let socket: Socket
    let endpoint: String
    private var buffer = [UInt8](repeating: 0, count: BusMessage.maxSize)

    init(_ context: ZMQContext) throws {
        socket = try Socket(context, .xpub)
        try socket.bind("tcp://127.0.0.1:*")
        endpoint = try socket.lastEndpoint
    }

    /// Waits until a subscriber has subscribed to `prefix` (XPUB subscription frame `0x01`+prefix).
    func waitForSubscription(_ prefix: String, within milliseconds: Int64 = 5000) throws -> Bool {
        let wanted = [UInt8(1)] + Array(prefix.utf8)
        let deadline = nowMilliseconds() + milliseconds
        while nowMilliseconds() < deadline {
            try socket.setReceiveTimeout(milliseconds: 20)
            if let frame = try socket.receiveBytes(), frame == wanted { return true }
        }
        return false
    }

    /// The bus message of `record` stamped with `epoch` and `sequence`.
    func message(_ record: Record, epoch: UInt32, sequence: UInt64) -> [UInt8] {
        let n = buffer.withUnsafeMutableBytes { BusMessage.encode(record, into: $0, stamp: (epoch, sequence)) }
        return Array(buffer[..<n])
    }

    func send(_ record: Record, epoch: UInt32, sequence: UInt64) throws {
        try socket.send(message(record, epoch: epoch, sequence: sequence))
    }

    func send(raw bytes: [UInt8]) throws {
        try socket.send(bytes)
    }
}


// MARK: Compact descriptions

/// Integers as runs of `step`: `[1, 2, 3, 7, 8]` is `"1...3, 7...8"`, so a failed expectation
/// on thousands of sequence numbers prints one short line.
func runs<T: BinaryInteger>(_ values: [T]?, step: T = 1) -> String {
    guard let values, let first = values.first else { return values == nil ? "nil" : "empty" }
    var parts: [String] = []
    var start = first
    var previous = first
    for value in values.dropFirst() {
        if value == previous + step {
            previous = value
            continue
        }
        parts.append(start == previous ? "\(start)" : "\(start)...\(previous)")
        start = value
        previous = value
    }
    parts.append(start == previous ? "\(start)" : "\(start)...\(previous)")
    return parts.count > 20 ? parts.prefix(20).joined(separator: ", ") + ", … (\(parts.count) runs)" : parts.joined(separator: ", ")
}
