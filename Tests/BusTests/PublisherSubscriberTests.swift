import Bus
import Foundation
import Testing
import TestSupport
import TickBusCore
import ZeroMQ

/// A real Publisher and real Subscribers on real sockets.
@Suite struct PublisherSubscriberTests {
    @Test(arguments: Transport.allCases)
    func deliversRecordsWithEpochAndPerTopicSequences(_ transport: Transport) throws {
        let context = try ZMQContext()
        let (bindEndpoint, path) = transport.bindEndpoint("deliver")
        defer { if let path { unlink(path) } }
        let publisher = try Publisher(
            context: context, configuration: .init(name: "deliver", endpoints: [bindEndpoint], epoch: 0xC0FFEE))
        #expect(publisher.epoch == 0xC0FFEE)
        #expect(publisher.endpoints.count == 1)
        if transport == .tcp {
            #expect(publisher.endpoints[0].hasPrefix("tcp://127.0.0.1:") && !publisher.endpoints[0].hasSuffix("*"))
        } else {
            #expect(publisher.endpoints == [bindEndpoint])
        }

        let subscriber = try Subscriber(context: context, configuration: .init(
            endpoints: publisher.endpoints, filters: [filter("T.AAPL"), filter("Q.AAPL"), filter("A.AAPL")],
            heartbeatTimeout: .seconds(60)))
        #expect(try waitForSubscriptions(publisher, ["T.AAPL ", "Q.AAPL ", "A.AAPL "]))

        var sent: [Record] = []
        for i in 0..<3 {
            sent += [trade("AAPL", i), quote("AAPL", i), bar("AAPL", i)]
        }
        for (n, record) in sent.enumerated() {
            #expect(try publisher.publish(record) == UInt64(n / 3 + 1), "sequence per topic")
        }
        #expect(publisher.counters.published == 9)
        #expect(publisher.counters.dropped == 0)

        let events = try collect(subscriber, records: 9)
        let received = events.compactMap(\.record)
        #expect(events.count == received.count, "only records: \(events.filter { $0.record == nil })")
        #expect(received.count == 9)
        // One connection keeps publishing order across topics; every field decodes as sent,
        // stamped with the publisher's epoch and the topic's sequence 1, 2, 3.
        let expected = sent.enumerated().map { n, r in stamped(r, epoch: 0xC0FFEE, sequence: UInt64(n / 3 + 1)) }
        #expect(received == expected)
        #expect(received.map(\.topic) == Array(repeating: ["T.AAPL", "Q.AAPL", "A.AAPL"], count: 3).flatMap { $0 })

        // Spot-check decoded fields by name, not only through ==.
        if case .trade(let t) = received.first {
            #expect(t.price == Price(raw: 114_125_000_000))
            #expect(t.size == 100)
            #expect(t.header.symbol == sym("AAPL"))
            #expect(t.header.epoch == publisher.epoch)
            #expect(t.header.sequence == 1)
            #expect(t.conditions.codes == [12, 0])
            #expect(t.tradeID.description == "id0")
        } else {
            Issue.record("first record is not a trade: \(String(describing: received.first))")
        }
        if received.count == 9, case .bar(let b) = received[8] {
            #expect(b.interval == .second)
            #expect(b.close == Price(raw: 114_250_000_002))
            #expect(b.volume == 1236.5)
            #expect(b.vwap == Price(raw: 114_126_500_000))
            #expect(b.header.sequence == 3)
        } else {
            Issue.record("ninth record is not a bar")
        }
        #expect(subscriber.counters.records == 9)
        #expect(subscriber.counters.gaps == 0 && subscriber.counters.lost == 0)
        #expect(subscriber.counters.invalidTotal == 0)
    }

    @Test func exactTopicsAndPrefixes() throws {
        let context = try ZMQContext()
        let publisher = try Publisher(
            context: context, configuration: .init(name: "filters", endpoints: ["tcp://127.0.0.1:*"]))
        func subscriber(_ pattern: String) throws -> Subscriber {
            try Subscriber(context: context, configuration: .init(
                endpoints: publisher.endpoints, filters: [filter(pattern)], heartbeatTimeout: .seconds(60)))
        }
        let exact = try subscriber("T.AAPL")
        let trades = try subscriber("T.")
        let wildcard = try subscriber("T.AA*")
        let quotes = try subscriber("Q.")
        #expect(try waitForSubscriptions(publisher, ["T.AAPL ", "T.", "T.AA", "Q.", "H."]))

        let order = ["AAPLW", "AAPLW", "AAPL", "AAPL", "AAPLW", "AAPL"]
        for (i, symbol) in order.enumerated() { try publisher.publish(trade(symbol, i)) }
        try publisher.publish(trade("ZZZ"))
        try publisher.publish(quote("ZZZ"))

        func topics(_ s: Subscriber, count: Int) throws -> [String] {
            var events = try collect(s, records: count)
            events += try drain(s, for: 100)
            let nonRecords = events.filter { $0.record == nil }
            #expect(nonRecords.isEmpty, "\(nonRecords)")
            return events.compactMap(\.record).map(\.topic)
        }
        // An exact topic: T.AAPL, never T.AAPLW (which would arrive before the last T.AAPL).
        #expect(try topics(exact, count: 3) == ["T.AAPL", "T.AAPL", "T.AAPL"])
        // Every trade.
        #expect(try topics(trades, count: 7) == order.map { "T." + $0 } + ["T.ZZZ"])
        // A symbol prefix: both AAPL and AAPLW.
        #expect(try topics(wildcard, count: 6) == order.map { "T." + $0 })
        // Quotes only: the one quote, sent after every trade.
        #expect(try topics(quotes, count: 1) == ["Q.ZZZ"])

        #expect(exact.counters.records == 3)
        #expect(trades.counters.records == 7)
        #expect(wildcard.counters.records == 6)
        #expect(quotes.counters.records == 1)
    }

    @Test func subscriptionsAreTrackedAndReleased() throws {
        let context = try ZMQContext()
        let publisher = try Publisher(
            context: context, configuration: .init(name: "subs", endpoints: ["tcp://127.0.0.1:*"]))
        var changes: [(String, Bool)] = []
        publisher.onSubscriptionChange = { prefix, subscribed in
            changes.append((String(decoding: prefix, as: UTF8.self), subscribed))
        }
        #expect(publisher.subscriptions.isEmpty)

        var first: Subscriber? = try Subscriber(context: context, configuration: .init(
            endpoints: publisher.endpoints, filters: [filter("T.AAPL")]))
        var second: Subscriber? = try Subscriber(context: context, configuration: .init(
            endpoints: publisher.endpoints, filters: [filter("T.AAPL"), filter("Q.MSFT")]))
        #expect(first != nil && second != nil)
        #expect(try waitForSubscriptions(publisher, ["T.AAPL ", "H.", "Q.MSFT "]))
        #expect(publisher.subscriptions == Set(["T.AAPL ", "H.", "Q.MSFT "].map { Array($0.utf8) }))
        #expect(Set(changes.map(\.0)) == ["T.AAPL ", "H.", "Q.MSFT "])
        #expect(changes.allSatisfy { $0.1 })
        #expect(changes.count == 3, "each prefix reported once, not once per subscriber")

        // Closing the second subscriber releases only the prefix nobody else holds.
        changes.removeAll()
        second = nil
        let deadline = nowMilliseconds() + 5000
        while publisher.subscriptions.contains(Array("Q.MSFT ".utf8)) && nowMilliseconds() < deadline {
            try publisher.service()
            sleep(milliseconds: 5)
        }
        #expect(!publisher.subscriptions.contains(Array("Q.MSFT ".utf8)))
        #expect(publisher.subscriptions.contains(Array("T.AAPL ".utf8)), "still held by the first subscriber")
        #expect(publisher.subscriptions.contains(Array("H.".utf8)))
        #expect(changes.count == 1 && changes.first?.0 == "Q.MSFT " && changes.first?.1 == false)

        first = nil
        let deadline2 = nowMilliseconds() + 5000
        while !publisher.subscriptions.isEmpty && nowMilliseconds() < deadline2 {
            try publisher.service()
            sleep(milliseconds: 5)
        }
        #expect(publisher.subscriptions.isEmpty)
        #expect(Set(changes.filter { !$0.1 }.map(\.0)) == ["Q.MSFT ", "T.AAPL ", "H."])
    }

    @Test func waitForSubscriberTimesOutWithoutOne() throws {
        let context = try ZMQContext()
        let publisher = try Publisher(
            context: context, configuration: .init(name: "lonely", endpoints: ["tcp://127.0.0.1:*"]))
        let start = nowMilliseconds()
        #expect(try publisher.waitForSubscriber(matching: "T.AAPL", timeout: .milliseconds(150)) == false)
        let waited = nowMilliseconds() - start
        #expect(waited >= 140 && waited < 2000, "waited \(waited) ms")

        // A subscriber to another symbol does not count; one to the kind prefix does.
        let other = try Subscriber(context: context, configuration: .init(
            endpoints: publisher.endpoints, filters: [filter("T.AAPLW")]))
        #expect(try waitForSubscriptions(publisher, ["T.AAPLW "]))
        #expect(try publisher.waitForSubscriber(matching: "T.AAPL", timeout: .milliseconds(100)) == false)
        let all = try Subscriber(context: context, configuration: .init(
            endpoints: publisher.endpoints, filters: [filter("T.")]))
        #expect(try publisher.waitForSubscriber(matching: "T.AAPL", timeout: .seconds(5)))
        _ = (other, all)
    }

    @Test func publisherRejectsBadNameAndEndpoint() throws {
        let context = try ZMQContext()
        #expect(throws: BusError.self) {
            try Publisher(context: context, configuration: .init(name: "has space", endpoints: []))
        }
        #expect(throws: BusError.self) {
            try Publisher(context: context, configuration: .init(name: "", endpoints: []))
        }
        let error = #expect(throws: BusError.self) {
            try Publisher(context: context, configuration: .init(name: "ok", endpoints: ["tcp://bogus"]))
        }
        if case .bindFailed(let endpoint, let why)? = error {
            #expect(endpoint == "tcp://bogus")
            #expect(!why.isEmpty)
        } else {
            Issue.record("expected bindFailed, got \(String(describing: error))")
        }
        #expect(throws: BusError.self) {
            try Subscriber(context: context, configuration: .init(endpoints: ["nonsense"]))
        }
    }
}
