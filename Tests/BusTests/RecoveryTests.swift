import Bus
import Foundation
import Journal
import Testing
import TestSupport
import TickBusCore
import ZeroMQ

/// Subscribers that fill gaps, restarts and a late start from the publisher's journal.
@Suite struct RecoveryTests {
    private func service(_ context: ZMQContext, _ label: String, sendHighWaterMark: Int32 = 100_000) throws -> PublisherService {
        try PublisherService(context: context, configuration: .init(
            name: "ingest", endpoints: ["tcp://127.0.0.1:*"], sendHighWaterMark: sendHighWaterMark,
            journal: .init(directory: NSTemporaryDirectory() + "tickbus-recovery-\(label)-\(UUID().uuidString)", queueBlocks: 4096),
            replayEndpoints: ["tcp://127.0.0.1:*"]))
    }

    /// Submits `count` trades over three symbols, numbered from `from`.
    private func submit(_ service: PublisherService, _ count: Int, from: Int = 0) {
        for i in from..<(from + count) {
            while !service.submit(trade(["AAPL", "MSFT", "SPY"][i % 3], i)) { sleep(milliseconds: 1) }
        }
    }

    /// Records until `count` arrived (or 60 s passed), with the gaps seen.
    private func receive(_ subscriber: Subscriber, _ count: Int) throws -> (records: [Record], gaps: Int) {
        var records: [Record] = []
        var gaps = 0
        let deadline = nowMilliseconds() + 60_000
        while records.count < count && nowMilliseconds() < deadline {
            switch try subscriber.next(timeout: .milliseconds(200)) {
            case .record(let r)?: records.append(r)
            case .gap?: gaps += 1
            default: break
            }
        }
        return (records, gaps)
    }

    /// Each topic's sequence numbers, in the order received.
    private func sequences(_ records: [Record]) -> [String: [UInt64]] {
        records.reduce(into: [:]) { $0[$1.topic, default: []].append($1.header.sequence) }
    }

    @Test func aLateJoinerGetsTheJournalFromItsStartThenLive() throws {
        let context = try ZMQContext()
        let publisher = try service(context, "late")
        defer { publisher.stop() }
        submit(publisher, 10_000)
        let subscriber = try Subscriber(context: context, configuration: .init(
            endpoints: publisher.endpoints, filters: [filter("T.")], heartbeatTimeout: .seconds(60),
            recovery: .init(endpoints: publisher.replay?.endpoints ?? [], start: .beginning)))
        let deadline = nowMilliseconds() + 10_000
        while !publisher.subscriptions.contains(Array("T.".utf8)) && nowMilliseconds() < deadline { sleep(milliseconds: 5) }
        submit(publisher, 10_000, from: 10_000)
        let got = try receive(subscriber, 20_000)
        #expect(got.records.count == 20_000 && got.gaps == 0)
        for (topic, numbers) in sequences(got.records) { #expect(numbers == Array(1...UInt64(numbers.count)), "\(topic)") }
        #expect(subscriber.counters.recovered >= 10_000)
        #expect(try subscriber.next(timeout: .milliseconds(300)).flatMap(\.record) == nil, "nothing twice")
    }

    @Test func aSlowSubscriberGetsEveryRecordItsQueueDropped() throws {
        let context = try ZMQContext()
        let publisher = try service(context, "slow", sendHighWaterMark: 500)
        defer { publisher.stop() }
        let subscriber = try Subscriber(context: context, configuration: .init(
            endpoints: publisher.endpoints, filters: [filter("T.")], receiveHighWaterMark: 500, heartbeatTimeout: .seconds(60),
            recovery: .init(endpoints: publisher.replay?.endpoints ?? [])))
        let deadline = nowMilliseconds() + 10_000
        while !publisher.subscriptions.contains(Array("T.".utf8)) && nowMilliseconds() < deadline { sleep(milliseconds: 5) }
        // Published while the subscriber reads nothing: libzmq drops most of it. A loss shows
        // when the topic's next record arrives, so whenever the stream is quiet the test
        // publishes one more record per symbol.
        submit(publisher, 30_000)
        sleep(milliseconds: 500)
        var published = 30_000
        var records: [Record] = []
        var gaps = 0
        let end = nowMilliseconds() + 60_000
        while records.count < published && nowMilliseconds() < end {
            switch try subscriber.next(timeout: .milliseconds(200)) {
            case .record(let r)?: records.append(r)
            case .gap?: gaps += 1
            case nil:
                submit(publisher, 3, from: published)
                published += 3
            default: break
            }
        }
        #expect(records.count == published && gaps == 0)
        for (topic, numbers) in sequences(records) { #expect(numbers == Array(1...UInt64(published / 3)), "\(topic)") }
        #expect(subscriber.counters.recovered > 0 && subscriber.counters.gaps == 0)
    }

    @Test func aPublisherRestartIsFilledAcrossBothEpochs() throws {
        let context = try ZMQContext()
        let directory = NSTemporaryDirectory() + "tickbus-recovery-restart-\(UUID().uuidString)"
        let (bus, replay) = ("tcp://127.0.0.1:\(freeTCPPort())", "tcp://127.0.0.1:\(freeTCPPort())")
        // libzmq closes a stopped publisher's listeners on its I/O thread: binding them again
        // may have to wait a moment.
        func start(_ epoch: UInt32) throws -> PublisherService {
            let until = nowMilliseconds() + 10_000
            while true {
                do {
                    return try PublisherService(context: context, configuration: .init(
                        name: "ingest", endpoints: [bus], sendHighWaterMark: 200, epoch: epoch,
                        journal: .init(directory: directory, queueBlocks: 4096), replayEndpoints: [replay]))
                } catch BusError.bindFailed(_, _) where nowMilliseconds() < until {
                    sleep(milliseconds: 50)
                }
            }
        }
        var publisher = try start(1)
        let subscriber = try Subscriber(context: context, configuration: .init(
            endpoints: [bus], filters: [filter("T.")], receiveHighWaterMark: 200, heartbeatTimeout: .seconds(60),
            recovery: .init(endpoints: [replay])))
        let deadline = nowMilliseconds() + 10_000
        while !publisher.subscriptions.contains(Array("T.".utf8)) && nowMilliseconds() < deadline { sleep(milliseconds: 5) }
        submit(publisher, 9000)
        // Epoch 1 ends with most of it dropped in the subscriber's queue; epoch 2 publishes more.
        while (publisher.journal?.counters.messages ?? 0) < 9000 && nowMilliseconds() < deadline + 20_000 { sleep(milliseconds: 5) }
        publisher.stop()
        publisher = try start(2)
        defer { publisher.stop() }
        // Published before the subscriber (its queue full of epoch 1) is connected again: the
        // journal has it.
        submit(publisher, 3000)
        while (publisher.journal?.counters.messages ?? 0) < 3000 && nowMilliseconds() < deadline + 40_000 { sleep(milliseconds: 5) }
        var records: [Record] = []
        var gaps = 0
        var restarts = 0
        let end = nowMilliseconds() + 60_000
        while records.count < 12_000 && nowMilliseconds() < end {
            switch try subscriber.next(timeout: .milliseconds(200)) {
            case .record(let r)?: records.append(r)
            case .gap?: gaps += 1
            case .restart?: restarts += 1
            default: break
            }
        }
        #expect(records.count == 12_000 && gaps == 0)
        #expect(restarts >= 1)
        #expect(subscriber.counters.replayFailures == 0, "\(subscriber.counters)")
        for epoch: UInt32 in [1, 2] {
            let numbers = records.filter { $0.header.epoch == epoch }.reduce(into: [String: [UInt64]]()) { $0[$1.topic, default: []].append($1.header.sequence) }
            for (topic, got) in numbers { #expect(got == Array(1...UInt64(epoch == 1 ? 3000 : 1000)), "epoch \(epoch) \(topic)") }
        }
    }
}
