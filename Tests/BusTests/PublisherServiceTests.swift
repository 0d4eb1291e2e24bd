import Bus
import Foundation
import Testing
import TestSupport
import TickBusCore
import ZeroMQ

/// The publisher on its own thread, fed from any thread through `submit`.
@Suite struct PublisherServiceTests {
    /// Waits until the service's publisher has seen every prefix in `prefixes`.
    func waitForSubscriptions(_ service: PublisherService, _ prefixes: [String], within milliseconds: Int64 = 5000) -> Bool {
        let wanted = Set(prefixes.map { Array($0.utf8) })
        let deadline = nowMilliseconds() + milliseconds
        while nowMilliseconds() < deadline {
            if wanted.isSubset(of: Set(service.subscriptions)) { return true }
            sleep(milliseconds: 5)
        }
        return false
    }

    @Test func concurrentSubmitKeepsPerTopicSequencesContiguous() throws {
        let context = try ZMQContext()
        let service = try PublisherService(context: context, configuration: .init(
            name: "svc", endpoints: ["tcp://127.0.0.1:*"]))
        defer { service.stop() }
        #expect(service.endpoints.count == 1 && service.endpoints[0].hasPrefix("tcp://127.0.0.1:"))
        let subscriber = try Subscriber(context: context, configuration: .init(
            endpoints: service.endpoints, filters: [filter("T.")], heartbeatTimeout: .seconds(60)))
        #expect(waitForSubscriptions(service, ["T."]))

        // Two threads submit at once: both to AAPL, each also to a topic of its own.
        let perThread = 5000
        let go = DispatchSemaphore(value: 0)
        let refused = Box(0)
        let threads = (0..<2).map { t in
            TestThread("submitter-\(t)") {
                go.wait()
                for i in 0..<perThread {
                    let symbol = i % 2 == 0 ? "AAPL" : (t == 0 ? "MSFT" : "IBM")
                    if !service.submit(trade(symbol, i, upstream: Int64(t * 1_000_000 + i))) {
                        refused.update { $0 += 1 }
                    }
                }
            }
        }
        go.signal()
        go.signal()

        let events = try collect(subscriber, records: 2 * perThread, within: 10_000)
        for thread in threads { #expect(thread.wait(seconds: 5)) }
        #expect(refused.value == 0)
        let records = events.compactMap(\.record)
        #expect(records.count == 2 * perThread)
        #expect(events.count == records.count, "no gaps or other events")

        var sequences: [String: [UInt64]] = [:]
        var upstreamByThread: [String: [Int64]] = [:]
        for record in records {
            sequences[record.topic, default: []].append(record.header.sequence)
            #expect(record.header.epoch == service.epoch)
            if case .trade(let t) = record {
                upstreamByThread["\(record.topic)/\(t.upstreamSequence / 1_000_000)", default: []].append(t.upstreamSequence)
            }
        }
        #expect(runs(sequences["T.AAPL"]) == "1...\(perThread)")
        #expect(runs(sequences["T.MSFT"]) == "1...\(perThread / 2)")
        #expect(runs(sequences["T.IBM"]) == "1...\(perThread / 2)")
        // Each thread's records arrive complete and in the order it submitted them.
        for t in 0..<2 {
            let own = t == 0 ? "T.MSFT" : "T.IBM"
            let base = t * 1_000_000
            #expect(runs(upstreamByThread["T.AAPL/\(t)"], step: 2) == "\(base)...\(base + perThread - 2)")
            #expect(runs(upstreamByThread["\(own)/\(t)"], step: 2) == "\(base + 1)...\(base + perThread - 1)")
        }
        #expect(subscriber.counters.lost == 0)

        // The service's counters catch up with the publisher thread.
        let deadline = nowMilliseconds() + 2000
        while service.counters.published < UInt64(2 * perThread) && nowMilliseconds() < deadline {
            sleep(milliseconds: 5)
        }
        #expect(service.counters.published == UInt64(2 * perThread))
        #expect(service.counters.dropped == 0)
    }

    @Test func heartbeatsFlowWithoutRecords() throws {
        let context = try ZMQContext()
        let service = try PublisherService(context: context, configuration: .init(
            name: "svc-hb", endpoints: ["tcp://127.0.0.1:*"], heartbeatInterval: .milliseconds(100)))
        defer { service.stop() }
        let subscriber = try Subscriber(context: context, configuration: .init(
            endpoints: service.endpoints, filters: [filter("H.svc-hb")], heartbeatTimeout: .seconds(60)))
        #expect(waitForSubscriptions(service, ["H.svc-hb ", "H."]))

        var heartbeats: [Heartbeat] = []
        let start = nowMilliseconds()
        while nowMilliseconds() - start < 1000 {
            guard let event = try subscriber.next(timeout: .milliseconds(50)) else { continue }
            if case .record(.heartbeat(let h)) = event { heartbeats.append(h) } else { Issue.record("\(event)") }
        }
        #expect(heartbeats.count >= 3 && heartbeats.count <= 12, "\(heartbeats.count) heartbeats in 1 s at 100 ms")
        let sequences = heartbeats.map(\.header.sequence)
        if let first = sequences.first {
            #expect(sequences == Array(first..<(first + UInt64(sequences.count))), "contiguous: \(sequences)")
        }
        var gaps: [Int64] = []
        for (a, b) in zip(heartbeats, heartbeats.dropFirst()) {
            gaps.append((b.header.tsEvent - a.header.tsEvent) / 1_000_000)
        }
        // Never early; late only as far as a loaded 2-core machine delays a thread.
        #expect(gaps.allSatisfy { $0 >= 90 }, "ms between heartbeats: \(gaps)")
        if !gaps.isEmpty {
            let mean = gaps.reduce(0, +) / Int64(gaps.count)
            #expect(mean >= 95 && mean <= 400, "mean \(mean) ms")
        }
        for h in heartbeats {
            #expect(h.published == 0 && h.dropped == 0 && h.topics == 0)
            #expect(h.intervalMilliseconds == 100)
            #expect(h.header.epoch == service.epoch)
            #expect(h.header.symbol == sym("svc-hb"))
        }
        // The service's counters are shared after each send: the last may not be counted yet.
        #expect(service.counters.heartbeats + 1 >= UInt64(heartbeats.count))
        #expect(service.counters.published == 0)
    }

    @Test func stopIsIdempotentAndFinal() throws {
        let context = try ZMQContext()
        let service = try PublisherService(context: context, configuration: .init(
            name: "svc-stop", endpoints: ["tcp://127.0.0.1:*"], heartbeatInterval: .milliseconds(50)))
        let subscriber = try Subscriber(context: context, configuration: .init(
            endpoints: service.endpoints, heartbeatTimeout: .seconds(60)))
        #expect(waitForSubscriptions(service, [""]))
        #expect(service.submit(trade("AAPL", 1)))
        let before = try collect(subscriber, within: 2000) { $0.record?.topic == "T.AAPL" }
        #expect(before.contains { $0.record?.topic == "T.AAPL" })

        // stop() publishes what is already queued before it returns.
        for i in 0..<1000 { #expect(service.submit(trade("MSFT", i))) }
        let start = nowMilliseconds()
        service.stop()
        #expect(service.counters.published == 1001)
        service.stop()
        // Concurrent stops from other threads return too.
        let stoppers = (0..<2).map { n in TestThread("stopper-\(n)") { service.stop() } }
        for stopper in stoppers { #expect(stopper.wait(seconds: 5)) }
        #expect(nowMilliseconds() - start < 2000)

        // After stop: submissions are refused and counted, and the bus goes quiet.
        let dropped = service.counters.dropped
        #expect(!service.submit(trade("AAPL", 2)))
        #expect(service.counters.dropped == dropped + 1)
        _ = try drain(subscriber, for: 100)  // whatever was in flight
        let heartbeatsBefore = subscriber.counters.heartbeats
        let after = try drain(subscriber, for: 300)
        #expect(after.allSatisfy { $0.record == nil }, "\(after)")
        #expect(subscriber.counters.heartbeats == heartbeatsBefore, "no heartbeats after stop")
    }

    @Test func failedBindIsThrownFromInit() throws {
        let context = try ZMQContext()
        #expect(throws: BusError.self) {
            try PublisherService(context: context, configuration: .init(name: "svc-bad", endpoints: ["tcp://bogus"]))
        }
    }

    /// A publisher thread that dies (here: its context is shut down under it) is not silent:
    /// `failure()` throws, `watching` ends the service's work with that error, and submits are
    /// refused and counted from then on.
    @Test func aDeadPublisherThreadEndsTheServiceWithAnError() async throws {
        let context = try ZMQContext()
        let service = try PublisherService(context: context, configuration: .init(name: "svc-dies", endpoints: ["tcp://127.0.0.1:*"]))
        defer { service.stop() }
        #expect(service.submit(trade("AAPL", 1)))
        let started = nowMilliseconds()
        let work = Task {
            try await service.watching {
                while true { try await Task.sleep(for: .milliseconds(10)) }
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        context.shutdown()
        await #expect(throws: BusError.self) { try await work.value }
        #expect(nowMilliseconds() - started < 30_000, "it ends: a loaded machine (a parallel test run) can take seconds")
        await #expect(throws: BusError.self) { try await service.failure() }
        let dropped = service.counters.dropped
        #expect(!service.submit(trade("AAPL", 2)))
        #expect(service.counters.dropped == dropped + 1)

        // Cancelled, failure() of a healthy publisher returns.
        let healthy = try PublisherService(context: try ZMQContext(), configuration: .init(name: "svc-ok", endpoints: ["tcp://127.0.0.1:*"]))
        defer { healthy.stop() }
        let waiter = Task { try await healthy.failure() }
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        try await waiter.value
    }
}
