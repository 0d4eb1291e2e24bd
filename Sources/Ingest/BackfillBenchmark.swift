import Bus
import Dispatch
import Foundation
import Logging
import MassiveREST
import TickBusCore
import ZeroMQ

/// Backfill's own pipeline without the network or the simulator: `pages` aggregates pages of
/// 50,000 second bars, parsed from memory by the REST page parser, published by a backfill job
/// (unpaced) onto a real bus, and counted by a subscriber on another thread.
public enum BackfillBenchmark {
    public struct Result: Sendable {
        public let records: Int
        public let seconds: Double
        /// Records the subscriber did not receive.
        public let missed: Int
        public var recordsPerSecond: Double { Double(records) / seconds }
    }

    public static func run(pages: Int) throws -> Result {
        let body = Array(RESTBenchmark.pageBody(bars: 50_000).utf8)
        let context = try ZMQContext()
        let endpoint = "ipc:///tmp/tickbus-bench-backfill-\(getpid())"
        var logger = Logger(label: "tickbus.bench")
        logger.logLevel = .warning
        let publisher = try PublisherService(
            context: context, configuration: .init(name: "bench", endpoints: [endpoint]), lastValues: LastValueCache())
        defer { publisher.stop() }
        let received = Counter()
        let configuration = Subscriber.Configuration(
            endpoints: [endpoint], filters: [try TopicFilter("A.")], receiveHighWaterMark: 1_000_000)
        let counting = DispatchSemaphore(value: 0)
        let stop = Counter()
        Thread {
            defer { counting.signal() }
            guard let subscriber = try? Subscriber(context: context, configuration: configuration) else { return }
            while stop.value == 0 {
                if case .record(.bar)? = try? subscriber.next(timeout: .milliseconds(50)) { received.add(1) }
            }
        }.start()
        let subscribed = Date().addingTimeInterval(10)
        while !publisher.subscriptions.contains(Array("A.".utf8)), Date() < subscribed { Thread.sleep(forTimeInterval: 0.01) }

        let reporter = StreamPublisher(publisher: publisher, name: "bench", market: .stocks, logger: logger)
        let jobs = BackfillJobs(configuration: .init(rate: 0), publisher: publisher, reporter: reporter, logger: logger) {
            request, _, page in
            var parser = RESTPageParser(query: request.query)
            for _ in 0..<pages {
                let records = try body.withUnsafeBytes { try parser.parse($0, receivedAt: WallClock.nanoseconds()) }.records
                try await page(records)
            }
        }
        let request = try BackfillRequest(
            symbol: "AAPL", kind: .secondBars, from: try HistoryBound(parsing: "2025-03-04"),
            to: try HistoryBound(parsing: "2025-03-05"), market: .stocks, reason: "request")
        let finished = DispatchSemaphore(value: 0)
        let runner = Task {
            await jobs.run()
            finished.signal()
        }
        let id = try jobs.start(request)
        var job = jobs.job(id)
        while job?.state == .queued || job?.state == .running {
            Thread.sleep(forTimeInterval: 0.01)
            job = jobs.job(id)
        }
        jobs.finish()
        runner.cancel()
        finished.wait()
        let records = Int(job?.records ?? 0)
        let deadline = Date().addingTimeInterval(5)
        while received.value < records, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        stop.add(1)
        counting.wait()
        let seconds = Double((job?.finishedAt ?? 0) - (job?.startedAt ?? 0)) / 1e9
        return Result(records: records, seconds: seconds, missed: records - received.value)
    }
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func add(_ n: Int) { lock.withLock { count += n } }
}
