import Bus
import Foundation
import Testing
import TestSupport
import TickBusCore
import ZeroMQ

/// Gaps, restarts and malformed input, with hand-made messages from a bare XPUB socket.
@Suite struct SequenceAndInputTests {
    @Test func gapsAreReportedWithTheLostCount() throws {
        let context = try ZMQContext()
        let raw = try RawPublisher(context)
        let subscriber = try Subscriber(context: context, configuration: .init(
            endpoints: [raw.endpoint], filters: [filter("T.")], heartbeatTimeout: .seconds(60)))
        #expect(try raw.waitForSubscription("T."))

        let epoch: UInt32 = 77
        for sequence: UInt64 in [1, 2, 5, 6] { try raw.send(trade("AAPL", Int(sequence)), epoch: epoch, sequence: sequence) }
        try raw.send(trade("AAPL", 6), epoch: epoch, sequence: 6)  // duplicate: not delivered
        try raw.send(trade("AAPL", 7), epoch: epoch, sequence: 7)
        // Another topic keeps its own numbers: MSFT 1, 3 loses one.
        try raw.send(trade("MSFT", 1), epoch: epoch, sequence: 1)
        try raw.send(trade("MSFT", 3), epoch: epoch, sequence: 3)

        let events = try collect(subscriber, records: 7)
        let aapl = Topic(kind: .trade, symbol: sym("AAPL"))
        let msft = Topic(kind: .trade, symbol: sym("MSFT"))
        let expected: [BusEvent] = [
            .record(stamped(trade("AAPL", 1), epoch: epoch, sequence: 1)),
            .record(stamped(trade("AAPL", 2), epoch: epoch, sequence: 2)),
            .gap(topic: aapl, expected: 3, received: 5, lost: 2),
            .record(stamped(trade("AAPL", 5), epoch: epoch, sequence: 5)),
            .record(stamped(trade("AAPL", 6), epoch: epoch, sequence: 6)),
            .record(stamped(trade("AAPL", 7), epoch: epoch, sequence: 7)),
            .record(stamped(trade("MSFT", 1), epoch: epoch, sequence: 1)),
            .gap(topic: msft, expected: 2, received: 3, lost: 1),
            .record(stamped(trade("MSFT", 3), epoch: epoch, sequence: 3)),
        ]
        #expect(events == expected)
        let c = subscriber.counters
        #expect(c.records == 7)
        #expect(c.gaps == 2)
        #expect(c.lost == 3)
        #expect(c.stale == 1)
        #expect(c.restarts == 0)
        #expect(try drain(subscriber, for: 100).isEmpty)
    }

    @Test func epochChangeIsOneRestartAcrossTopics() throws {
        let context = try ZMQContext()
        let raw = try RawPublisher(context)
        let subscriber = try Subscriber(context: context, configuration: .init(
            endpoints: [raw.endpoint], heartbeatTimeout: .seconds(60)))
        #expect(try raw.waitForSubscription(""))

        try raw.send(trade("AAPL", 1), epoch: 100, sequence: 1)
        try raw.send(trade("AAPL", 2), epoch: 100, sequence: 2)
        try raw.send(trade("MSFT", 1), epoch: 100, sequence: 1)
        try raw.send(quote("AAPL", 1), epoch: 100, sequence: 1)
        // The publisher restarts: every topic starts again at 1 in epoch 200.
        try raw.send(trade("AAPL", 3), epoch: 200, sequence: 1)
        try raw.send(trade("MSFT", 2), epoch: 200, sequence: 1)
        try raw.send(quote("AAPL", 2), epoch: 200, sequence: 1)
        try raw.send(trade("AAPL", 4), epoch: 200, sequence: 2)
        try raw.send(trade("IBM", 1), epoch: 200, sequence: 1)  // new in this epoch: no restart
        // And once more, to epoch 300 (seen first on MSFT).
        try raw.send(trade("MSFT", 3), epoch: 300, sequence: 1)
        try raw.send(trade("AAPL", 5), epoch: 300, sequence: 1)

        let events = try collect(subscriber, records: 11)
        let restarts = events.filter { if case .restart = $0 { true } else { false } }
        #expect(restarts == [
            .restart(topic: Topic(kind: .trade, symbol: sym("AAPL")), previousEpoch: 100, epoch: 200),
            .restart(topic: Topic(kind: .trade, symbol: sym("MSFT")), previousEpoch: 200, epoch: 300),
        ])
        // The restart comes right before the first record of the new epoch.
        let kinds = events.map { event -> String in
            switch event {
            case .record(let r): "\(r.topic)#\(r.header.sequence)@\(r.header.epoch)"
            case .restart(_, let previous, let epoch): "restart \(previous)->\(epoch)"
            default: "\(event)"
            }
        }
        #expect(kinds == [
            "T.AAPL#1@100", "T.AAPL#2@100", "T.MSFT#1@100", "Q.AAPL#1@100",
            "restart 100->200", "T.AAPL#1@200", "T.MSFT#1@200", "Q.AAPL#1@200", "T.AAPL#2@200", "T.IBM#1@200",
            "restart 200->300", "T.MSFT#1@300", "T.AAPL#1@300",
        ])
        let c = subscriber.counters
        #expect(c.restarts == 2)
        #expect(c.gaps == 0 && c.lost == 0 && c.stale == 0)
        #expect(c.records == 11)
    }

    @Test func restartedPublisherOnTheSameEndpoint() throws {
        let context = try ZMQContext()
        var first: Publisher? = try Publisher(
            context: context, configuration: .init(name: "restart", endpoints: ["tcp://127.0.0.1:*"], epoch: 1111))
        let endpoint = try #require(first?.endpoints.first)
        let subscriber = try Subscriber(context: context, configuration: .init(
            endpoints: [endpoint], filters: [filter("T.")], heartbeatTimeout: .seconds(60)))
        #expect(try first!.waitForSubscriber(matching: "T.AAPL", timeout: .seconds(5)))
        try first!.publish(trade("AAPL", 1))
        try first!.publish(trade("AAPL", 2))
        try first!.publish(trade("MSFT", 1))
        let before = try collect(subscriber, records: 3).compactMap(\.record)
        #expect(before.map { "\($0.topic)#\($0.header.sequence)@\($0.header.epoch)" }
            == ["T.AAPL#1@1111", "T.AAPL#2@1111", "T.MSFT#1@1111"])
        first = nil

        // Bind the same port again (the old listener closes in the background).
        var second: Publisher?
        let deadline = nowMilliseconds() + 5000
        while second == nil && nowMilliseconds() < deadline {
            second = try? Publisher(
                context: context, configuration: .init(name: "restart", endpoints: [endpoint], epoch: 2222))
            if second == nil { sleep(milliseconds: 20) }
        }
        let publisher = try #require(second)
        #expect(publisher.endpoints == [endpoint])
        // The subscriber reconnects by itself and subscribes again. (libzmq resends a SUB's
        // subscriptions when the application next calls into the socket, so keep receiving.)
        var early: [BusEvent] = []
        var subscribed = false
        let deadline2 = nowMilliseconds() + 5000
        while !subscribed && nowMilliseconds() < deadline2 {
            if let event = try subscriber.next(timeout: .milliseconds(5)) { early.append(event) }
            subscribed = try publisher.waitForSubscriber(matching: "T.AAPL", timeout: .milliseconds(5))
        }
        #expect(subscribed)
        #expect(early.isEmpty)
        try publisher.publish(trade("AAPL", 3))
        try publisher.publish(trade("MSFT", 2))
        try publisher.publish(trade("AAPL", 4))

        let events = try collect(subscriber, records: 3)
        #expect(events.first == .restart(topic: Topic(kind: .trade, symbol: sym("AAPL")), previousEpoch: 1111, epoch: 2222))
        #expect(events.dropFirst().compactMap(\.record).map { "\($0.topic)#\($0.header.sequence)@\($0.header.epoch)" }
            == ["T.AAPL#1@2222", "T.MSFT#1@2222", "T.AAPL#2@2222"])
        #expect(events.count == 4, "one restart for both topics: \(events)")
        #expect(subscriber.counters.restarts == 1)
        #expect(subscriber.counters.gaps == 0)
    }

    @Test func invalidMessagesAreCountedAndSkipped() throws {
        let context = try ZMQContext()
        let raw = try RawPublisher(context)
        let subscriber = try Subscriber(context: context, configuration: .init(
            endpoints: [raw.endpoint], heartbeatTimeout: .seconds(60)))
        #expect(try raw.waitForSubscription(""))

        // A valid trade whose header bytes hold no 0x20, so removing the topic's space leaves
        // a message with no separator at all.
        let record = Record.trade(Trade(
            header: RecordHeader(market: .stocks, tsEvent: 1_000_000_000, tsRecv: 1_000_000_001, symbol: "AAPL"),
            price: Price(units: 114), size: 100))
        let valid = raw.message(record, epoch: 0x0101_0101, sequence: 1)
        let space = "T.AAPL".utf8.count
        #expect(valid[space] == 0x20)
        var noSpace = valid
        noSpace.remove(at: space)
        try #require(!noSpace.prefix(40).contains(0x20))

        func modified(_ offset: Int, _ value: UInt8) -> [UInt8] {
            var m = valid
            m[space + 1 + offset] = value
            return m
        }
        let cases: [([UInt8], WireError)] = [
            ([0xDE, 0xAD, 0xBE, 0xEF] + Array(repeating: 0x41, count: 60), .missingTopicSeparator),
            (noSpace, .missingTopicSeparator),
            (Array("T.AAPL ".utf8) + Array(repeating: 1, count: 10), .tooShort(10)),
            (modified(2, 9), .unsupportedVersion(9)),
            (modified(3, 42), .unknownKind(42)),
            (valid + [0], .lengthMismatch(declared: 128, actual: 129)),
            (modified(0, 127), .lengthMismatch(declared: 127, actual: 128)),
            (Array("T.MSFT ".utf8) + valid[(space + 1)...], .topicMismatch),
        ]
        for (bytes, _) in cases { try raw.send(raw: bytes) }
        try raw.send(raw: valid)

        let events = try collect(subscriber, records: 1)
        #expect(events == cases.map { .invalid($0.1) } + [.record(stamped(record, epoch: 0x0101_0101, sequence: 1))])
        let c = subscriber.counters
        #expect(c.invalid == [
            "no_topic_separator": 2, "too_short": 1, "unsupported_version": 1, "unknown_kind": 1,
            "length_mismatch": 2, "topic_mismatch": 1,
        ])
        #expect(c.invalidTotal == 8)
        #expect(c.records == 1)
        #expect(c.gaps == 0)

        // Still working: the next record continues the topic's sequence.
        try raw.send(raw: [])
        try raw.send(record, epoch: 0x0101_0101, sequence: 2)
        let more = try collect(subscriber, records: 1)
        #expect(more == [.invalid(.missingTopicSeparator), .record(stamped(record, epoch: 0x0101_0101, sequence: 2))])
        #expect(subscriber.counters.invalid["no_topic_separator"] == 3)
        #expect(subscriber.counters.records == 2)
    }
}

/// The per-topic sequence logic without sockets.
@Suite struct SequenceTrackerTests {
    func header(_ epoch: UInt32, _ sequence: UInt64) -> RecordHeader {
        RecordHeader(epoch: epoch, sequence: sequence, tsEvent: 0, tsRecv: 0, symbol: "AAPL")
    }

    @Test func tracksEachTopic() {
        var tracker = SequenceTracker()
        let aapl = Topic(kind: .trade, symbol: "AAPL")
        let quotes = Topic(kind: .quote, symbol: "AAPL")
        #expect(tracker.check(aapl, header(1, 5)) == .inOrder, "a late joiner starts anywhere")
        #expect(tracker.check(aapl, header(1, 6)) == .inOrder)
        #expect(tracker.check(quotes, header(1, 1)) == .inOrder)
        #expect(tracker.check(aapl, header(1, 9)) == .gap(expected: 7, received: 9))
        #expect(tracker.check(aapl, header(1, 9)) == .stale(last: 9, received: 9))
        #expect(tracker.check(aapl, header(1, 3)) == .stale(last: 9, received: 3))
        #expect(tracker.check(aapl, header(1, 10)) == .inOrder)
        #expect(tracker.check(aapl, header(2, 1)) == .restart(previousEpoch: 1, lastSequence: 10, epoch: 2))
        #expect(tracker.check(aapl, header(2, 2)) == .inOrder)
        #expect(tracker.check(quotes, header(2, 1)) == .restart(previousEpoch: 1, lastSequence: 1, epoch: 2))
        #expect(tracker.check(quotes, header(2, 3)) == .gap(expected: 2, received: 3))
        #expect(tracker.topicCount == 2)
    }
}
