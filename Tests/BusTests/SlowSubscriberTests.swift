import Bus
import Foundation
import Testing
import TestSupport
import TickBusCore
import ZeroMQ

/// The live stream never waits for a slow subscriber: that one loses what overflows its own
/// queue (and sees the gaps), while a fast subscriber on the same publisher loses nothing.
@Suite struct SlowSubscriberTests {
    struct Outcome: Sendable {
        var lost: UInt64 = 0
        var gaps: UInt64 = 0
        var stale: UInt64 = 0
        var records = 0
        var lastSequence: UInt64 = 0
        var inOrder = true
        var gapEvents = 0
        var lostInGapEvents: UInt64 = 0
        var sawSentinel = false
        var error: String?

        mutating func take(_ counters: Subscriber.Counters) {
            lost = counters.lost
            gaps = counters.gaps
            stale = counters.stale
        }
    }

    struct Progress: Sendable {
        var records = 0
        var lastReceive: Int64 = 0
    }

    /// Receives AAPL trades until the sentinel (sequence `last`) arrives, sleeping 1 ms after
    /// every `pause` records when `pause` is set.
    static func receive(
        _ subscriber: Subscriber, last: UInt64, pause: Int?, progress: Box<Progress>, deadline: Int64
    ) throws -> Outcome {
        var outcome = Outcome()
        while nowMilliseconds() < deadline {
            guard let event = try subscriber.next(timeout: .milliseconds(50)) else { continue }
            switch event {
            case .record(let record):
                let sequence = record.header.sequence
                if sequence <= outcome.lastSequence { outcome.inOrder = false }
                outcome.lastSequence = sequence
                outcome.records += 1
                progress.value = Progress(records: outcome.records, lastReceive: nowMilliseconds())
                if sequence == last {
                    outcome.sawSentinel = true
                    outcome.take(subscriber.counters)
                    return outcome
                }
                if let pause, outcome.records % pause == 0 { sleep(milliseconds: 1) }
            case .gap(_, _, _, let lost):
                outcome.gapEvents += 1
                outcome.lostInGapEvents += lost
            default:
                outcome.error = "unexpected \(event)"
            }
        }
        outcome.take(subscriber.counters)
        return outcome
    }

    /// ipc and inproc, whose buffers are small and fixed. Over loopback tcp the kernel's
    /// autotuned socket buffers (megabytes) hold the whole burst, so no queue overflows there.
    @Test(arguments: [Transport.ipc, .inproc])
    func fastSubscriberLosesNothingSlowOneSeesGaps(_ transport: Transport) throws {
        let total = 20_000
        let burst = 25
        let context = try ZMQContext()
        let (bindEndpoint, path) = transport.bindEndpoint("slowfast")
        defer { if let path { unlink(path) } }
        let publisher = try Publisher(context: context, configuration: .init(
            name: "slowfast", endpoints: [bindEndpoint], sendHighWaterMark: 100))
        let endpoints = publisher.endpoints
        let deadline = nowMilliseconds() + 20_000
        let last = UInt64(total + 1)

        // Each subscriber lives on its own thread (and, over a network transport, its own context).
        func start(_ name: String, _ pattern: String, hwm: Int32, pause: Int?) -> (TestThread, Box<Outcome>, Box<Progress>, DispatchSemaphore) {
            let outcome = Box(Outcome())
            let progress = Box(Progress())
            let ready = DispatchSemaphore(value: 0)
            let thread = TestThread(name) {
                do {
                    let ctx = transport == .inproc ? context : try ZMQContext()
                    let subscriber = try Subscriber(context: ctx, configuration: .init(
                        endpoints: endpoints, filters: [try TopicFilter(pattern)], receiveHighWaterMark: hwm,
                        heartbeatTimeout: .seconds(60)))
                    ready.signal()
                    outcome.value = try Self.receive(subscriber, last: last, pause: pause, progress: progress, deadline: deadline)
                } catch {
                    outcome.update { $0.error = "\(error)" }
                    ready.signal()
                }
            }
            return (thread, outcome, progress, ready)
        }
        let fast = start("fast", "T.AAPL", hwm: 100_000, pause: nil)
        let slow = start("slow", "T.", hwm: 100, pause: 4)
        #expect(fast.3.wait(timeout: .now() + 5) == .success)
        #expect(slow.3.wait(timeout: .now() + 5) == .success)
        // Different prefixes, so XPUB reports both.
        #expect(try waitForSubscriptions(publisher, ["T.AAPL ", "T."]))

        // A live feed in bursts, paced at what the fast subscriber keeps up with (so its queue
        // of 100 at the publisher never fills, however the machine schedules threads); the
        // slow subscriber reads at a fraction of that rate.
        var publishing: Int64 = 0  // µs spent inside publish()
        var slowest: Int64 = 0
        var i = 0
        while i < total {
            let t0 = nowMicroseconds()
            for _ in 0..<burst {
                try publisher.publish(trade("AAPL", i))
                i += 1
            }
            let spent = nowMicroseconds() - t0
            publishing += spent
            slowest = max(slowest, spent)
            let caughtUp = nowMilliseconds() + 1000
            while fast.2.value.records < i && nowMilliseconds() < caughtUp { sleep(milliseconds: 0.1) }
            sleep(milliseconds: 1)
        }
        #expect(publishing < 1_000_000, "publishing \(total) records took \(publishing / 1000) ms: the publisher waited")
        #expect(slowest < 200_000, "one burst of \(burst) took \(slowest / 1000) ms")

        // Once the slow subscriber has drained its queue, the sentinel closes the count: every
        // record up to it was either received or reported lost.
        while nowMilliseconds() < deadline {
            let p = slow.2.value
            if p.lastReceive > 0 && nowMilliseconds() - p.lastReceive > 300 { break }
            sleep(milliseconds: 20)
        }
        try publisher.publish(trade("AAPL", total))
        #expect(publisher.counters.published == UInt64(total + 1))
        #expect(publisher.counters.dropped == 0, "a plain XPUB drops inside libzmq, not in send")

        #expect(fast.0.wait(seconds: 15))
        #expect(slow.0.wait(seconds: 15))
        let f = fast.1.value
        let s = slow.1.value
        #expect(f.error == nil && s.error == nil, "\(f.error ?? "") \(s.error ?? "")")

        #expect(f.sawSentinel)
        #expect(f.records == total + 1)
        #expect(f.lost == 0 && f.gaps == 0 && f.gapEvents == 0)
        #expect(f.inOrder)

        #expect(s.sawSentinel)
        #expect(s.inOrder)
        #expect(s.gaps > 0, "the slow subscriber should have overflowed its queue")
        #expect(s.records < total + 1)
        #expect(UInt64(s.records) + s.lost == UInt64(total + 1),
                "slow: \(s.records) received + \(s.lost) lost != \(total + 1)")
        #expect(s.gapEvents == Int(s.gaps))
        #expect(s.lostInGapEvents == s.lost)
        #expect(s.stale == 0)
    }
}
