import Bus
import Foundation
import Testing
import TestSupport
import TickBusCore
import ZeroMQ

/// Publisher heartbeats (`H.<name>`) and the subscriber's liveness watch.
@Suite struct HeartbeatTests {
    @Test func serviceSendsHeartbeatsWithCounters() throws {
        let context = try ZMQContext()
        let publisher = try Publisher(context: context, configuration: .init(
            name: "hbtest", endpoints: ["tcp://127.0.0.1:*"], heartbeatInterval: .milliseconds(100)))
        // One subscriber asks for heartbeats as records; the other only for AAPL trades, so it
        // counts heartbeats without returning them.
        let watcher = try Subscriber(context: context, configuration: .init(
            endpoints: publisher.endpoints, filters: [filter("H.")], heartbeatTimeout: .seconds(60)))
        // XPUB reports a prefix once, so wait for the watcher's "H." before the second subscriber
        // subscribes to it too.
        #expect(try publisher.waitForSubscriber(matching: "H.hbtest", timeout: .seconds(5)))
        let trades = try Subscriber(context: context, configuration: .init(
            endpoints: publisher.endpoints, filters: [filter("T.AAPL")], heartbeatTimeout: .seconds(60)))
        #expect(try publisher.waitForSubscriber(matching: "T.AAPL", timeout: .seconds(5)))
        try publisher.publish(trade("AAPL", 1))
        try publisher.publish(trade("AAPL", 2))

        var heartbeats: [Heartbeat] = []
        var tradeEvents: [BusEvent] = []
        let start = nowMilliseconds()
        while nowMilliseconds() - start < 650 {
            try publisher.service()
            if let event = try watcher.next(timeout: .milliseconds(5)) {
                if case .record(.heartbeat(let h)) = event { heartbeats.append(h) } else { Issue.record("\(event)") }
            }
            if let event = try trades.next(timeout: .zero) { tradeEvents.append(event) }
        }
        while let event = try trades.next(timeout: .milliseconds(20)) { tradeEvents.append(event) }

        // The first heartbeat goes out at once, then one per 100 ms: about 7 in 650 ms.
        #expect(heartbeats.count >= 4 && heartbeats.count <= 8, "\(heartbeats.count) heartbeats in 650 ms")
        #expect(heartbeats.map(\.header.sequence) == Array(1...UInt64(max(1, heartbeats.count))))
        for h in heartbeats {
            #expect(h.header.symbol == sym("hbtest"))
            #expect(h.header.epoch == publisher.epoch)
            #expect(h.header.tsEvent == h.header.tsRecv)
            #expect(h.header.market == .unknown)
            #expect(h.published == 2)
            #expect(h.dropped == 0)
            #expect(h.topics == 1, "T.AAPL; the heartbeat topic is not counted")
            #expect(h.subscriptions == 2, "distinct prefixes H. and T.AAPL")
            #expect(h.intervalMilliseconds == 100)
            #expect(h.startedAt <= h.header.tsEvent && h.header.tsEvent - h.startedAt < 10_000_000_000)
        }
        for (a, b) in zip(heartbeats, heartbeats.dropFirst()) {
            let gap = (b.header.tsEvent - a.header.tsEvent) / 1_000_000
            #expect(gap >= 90 && gap < 400, "\(gap) ms between heartbeats")
        }
        #expect(publisher.counters.heartbeats >= UInt64(heartbeats.count))
        #expect(publisher.counters.published == 2, "heartbeats are not counted as published")

        #expect(tradeEvents.compactMap(\.record).map(\.topic) == ["T.AAPL", "T.AAPL"])
        #expect(tradeEvents.count == 2)
        #expect(trades.counters.heartbeats >= 4)
        #expect(trades.counters.records == 2)
        #expect(watcher.counters.heartbeats == UInt64(heartbeats.count))
    }

    @Test func aTimeoutLongerThanTheHeartbeatIntervalStillEnds() throws {
        let context = try ZMQContext()
        let service = try PublisherService(context: context, configuration: .init(
            name: "beats", endpoints: ["tcp://127.0.0.1:*"], heartbeatInterval: .milliseconds(50)))
        defer { service.stop() }
        let subscriber = try Subscriber(context: context, configuration: .init(
            endpoints: service.endpoints, filters: [filter("T.NONE")], heartbeatTimeout: .seconds(60)))
        // Heartbeats arrive every 50 ms and report nothing: the call still returns nil on time.
        let start = nowMilliseconds()
        #expect(try subscriber.next(timeout: .milliseconds(400)) == nil)
        let took = nowMilliseconds() - start
        #expect(took >= 300 && took < 3000, "next(timeout: 400 ms) took \(took) ms")
        #expect(subscriber.counters.heartbeats > 0)
    }

    @Test func silentPublisherAndResume() throws {
        let context = try ZMQContext()
        let publisher = try Publisher(context: context, configuration: .init(
            name: "hbto", endpoints: ["tcp://127.0.0.1:*"], heartbeatInterval: .milliseconds(50)))
        let subscriber = try Subscriber(context: context, configuration: .init(
            endpoints: publisher.endpoints, filters: [filter("T.AAPL")], heartbeatTimeout: .milliseconds(300)))
        #expect(try publisher.waitForSubscriber(matching: "H.hbto", timeout: .seconds(5)))

        // Heartbeating: nothing to report.
        var phase = nowMilliseconds()
        while nowMilliseconds() - phase < 400 {
            try publisher.service()
            if let event = try subscriber.next(timeout: .milliseconds(5)) { Issue.record("unexpected \(event)") }
        }
        #expect(subscriber.counters.heartbeats >= 4)

        // The publisher stops heartbeating: silent after the 300 ms timeout, once.
        let stopped = nowMilliseconds()
        let silence = try collect(subscriber, within: 2000) { _ in true }
        let reportedAfter = nowMilliseconds() - stopped
        guard case .silent(let name, let silentFor)? = silence.first else {
            Issue.record("expected .silent, got \(silence)")
            return
        }
        #expect(name == "hbto")
        #expect(silentFor >= .milliseconds(300))
        #expect(reportedAfter >= 240 && reportedAfter < 1000, "silent reported after \(reportedAfter) ms")
        #expect(try drain(subscriber, for: 400).isEmpty, "silence is reported once")

        // Heartbeats again: resumed.
        phase = nowMilliseconds()
        var resumed: [BusEvent] = []
        while nowMilliseconds() - phase < 1000 && resumed.isEmpty {
            try publisher.service()
            if let event = try subscriber.next(timeout: .milliseconds(5)) { resumed.append(event) }
        }
        #expect(resumed == [.resumed(publisher: "hbto")])
        phase = nowMilliseconds()
        while nowMilliseconds() - phase < 400 {
            try publisher.service()
            if let event = try subscriber.next(timeout: .milliseconds(5)) { Issue.record("unexpected \(event)") }
        }
    }

    @Test func silentWhenNoPublisherIsHeard() throws {
        let context = try ZMQContext()
        let raw = try RawPublisher(context)  // bound, never sends
        let created = nowMilliseconds()
        let subscriber = try Subscriber(context: context, configuration: .init(
            endpoints: [raw.endpoint], heartbeatTimeout: .milliseconds(200)))
        let events = try collect(subscriber, within: 2000) { _ in true }
        let after = nowMilliseconds() - created
        guard case .silent(let name, let silentFor)? = events.first else {
            Issue.record("expected .silent(nil), got \(events)")
            return
        }
        #expect(name == nil)
        #expect(silentFor >= .milliseconds(200))
        #expect(after >= 190 && after < 1500, "reported after \(after) ms")
        #expect(try drain(subscriber, for: 400).isEmpty, "reported once")
    }

    /// Heartbeats queued before the first poll count: a subscriber first read well after it was
    /// created is not silent while its queue holds heartbeats.
    @Test func heartbeatsQueuedBeforeTheFirstPollCount() throws {
        let context = try ZMQContext()
        let publisher = try Publisher(context: context, configuration: .init(
            name: "hbq", endpoints: ["tcp://127.0.0.1:*"], heartbeatInterval: .milliseconds(50)))
        let subscriber = try Subscriber(context: context, configuration: .init(
            endpoints: publisher.endpoints, filters: [filter("T.AAPL")], heartbeatTimeout: .milliseconds(300)))
        #expect(try publisher.waitForSubscriber(matching: "H.hbq", timeout: .seconds(5)))
        let start = nowMilliseconds()
        while nowMilliseconds() - start < 600 {
            try publisher.service()
            Thread.sleep(forTimeInterval: 0.01)
        }
        try publisher.service()
        #expect(try drain(subscriber, for: 100).isEmpty)
        #expect(subscriber.counters.heartbeats >= 5)
    }

    /// One heartbeat that both ends a silence and skips sequence numbers gives both events,
    /// resumed first, and the gap is not lost.
    @Test func aHeartbeatThatResumesAndSkipsReportsBoth() throws {
        let context = try ZMQContext()
        let raw = try RawPublisher(context)
        let subscriber = try Subscriber(context: context, configuration: .init(
            endpoints: [raw.endpoint], filters: [filter("H.")], heartbeatTimeout: .milliseconds(200)))
        #expect(try raw.waitForSubscription("H."))
        func beat(_ sequence: UInt64) throws {
            let now = WallClock.nanoseconds()
            try raw.send(.heartbeat(Heartbeat(
                header: RecordHeader(market: .unknown, tsEvent: now, tsRecv: now, symbol: sym("hbx")), published: 0, dropped: 0,
                startedAt: now, topics: 0, subscriptions: 1, intervalMilliseconds: 50)), epoch: 7, sequence: sequence)
        }
        try beat(1)
        let first = try collect(subscriber, within: 2000) { if case .silent = $0 { true } else { false } }
        #expect(first.contains { if case .silent(let name, _) = $0 { name == "hbx" } else { false } }, "\(first)")
        try beat(4)
        // Resumed, the gap, the heartbeat itself (then silent again, as no more come).
        let events = try drain(subscriber, for: 150)
        try #require(events.count >= 3, "\(events)")
        #expect(events[0] == .resumed(publisher: "hbx"))
        #expect({ if case .gap(_, 2, 4, 2) = events[1] { true } else { false } }(), "\(events)")
        #expect(events[2].record != nil, "\(events)")
    }
}
