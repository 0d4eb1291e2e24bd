import Bus
import Logging
import Synchronization
import TickBusCore

/// One backfill as `job` and `jobs` report it.
public struct BackfillJob: Sendable {
    public enum State: String, Sendable {
        case queued, running, done, failed, cancelled
    }

    public let id: String
    public let request: BackfillRequest
    public var state = State.queued
    public var records: UInt64 = 0
    public var pages: UInt64 = 0
    public var retries: UInt64 = 0
    /// Time of the last record published (ns).
    public var lastEventTime: Int64?
    /// The latest message from the fetch (a retry wait), or the error that ended the job.
    public var note: String?
    public var error: String?
    public let createdAt = WallClock.nanoseconds()
    public var startedAt: Int64?
    public var finishedAt: Int64?

    /// 0…1, by the time of the last record published within the range.
    public var progress: Double {
        if state == .done { return 1 }
        guard let last = lastEventTime else { return 0 }
        let start = request.from.earliest, end = request.to.latest
        guard end > start else { return 0 }
        return min(1, max(0, (Double(last) - Double(start)) / (Double(end) - Double(start))))
    }

    /// The job as a JSON object.
    public var json: String {
        var o = JSONObject()
        o.add("id", string: id)
        o.add("state", string: state.rawValue)
        o.add("symbol", string: request.symbol)
        o.add("timespan", string: request.kind.timespan)
        o.add("from", string: request.from.description)
        o.add("to", string: request.to.description)
        o.add("reason", string: request.reason)
        o.add("progress", raw: String(Double(Int(progress * 1000)) / 1000))
        o.add("records", raw: String(records))
        o.add("pages", raw: String(pages))
        o.add("retries", raw: String(retries))
        if let lastEventTime { o.add("last_time", string: UTCTime.iso8601(nanoseconds: lastEventTime)) }
        o.add("created", string: UTCTime.iso8601(nanoseconds: createdAt))
        if let startedAt { o.add("started", string: UTCTime.iso8601(nanoseconds: startedAt)) }
        if let finishedAt {
            o.add("finished", string: UTCTime.iso8601(nanoseconds: finishedAt))
            if let startedAt { o.add("elapsed_ms", raw: String((finishedAt - startedAt) / 1_000_000)) }
        }
        if let note { o.add("note", string: note) }
        if let error { o.add("error", string: error) }
        return o.text
    }
}

/// Fetches one backfill's records, page by page in time order; `note` reports retries.
public typealias BackfillFetch = @Sendable (
    _ request: BackfillRequest, _ note: @escaping @Sendable (String) -> Void,
    _ page: @escaping @Sendable ([Record]) async throws -> Void
) async throws -> Void

/// Backfill jobs: queued by `backfill` requests and gap repair, run a few at a time, their
/// records published on the bus with the HISTORICAL flag, paced so they never crowd out the
/// live stream: at most `rate` records a second, in chunks, and only while the publisher's queue
/// is nearly empty, so a subscriber that keeps up with live traffic loses none of them.
public final class BackfillJobs: Sendable {
    public struct Configuration: Sendable {
        /// Jobs fetched at the same time; the others wait in the queue.
        public var concurrency: Int
        /// Records published per second by all jobs together; 0 = as fast as the bus takes them.
        public var rate: Int
        /// Records per publish step.
        public var chunk: Int
        /// Finished jobs remembered for `jobs`.
        public var history: Int

        public init(concurrency: Int = 2, rate: Int = 200_000, chunk: Int = 1_000, history: Int = 200) {
            self.concurrency = concurrency
            self.rate = rate
            self.chunk = chunk
            self.history = history
        }
    }

    /// Most jobs waiting at once; more are refused with `unavailable`.
    static let maxQueued = 1_000

    let configuration: Configuration
    private let publisher: PublisherService
    private let reporter: StreamPublisher
    private let fetch: BackfillFetch
    private let logger: Logger
    private let state = Mutex(State())
    private let queue: AsyncStream<String>
    private let enqueue: AsyncStream<String>.Continuation
    private let pacer: Pacer

    private struct State {
        var next = 1
        var jobs: [String: BackfillJob] = [:]
        var order: [String] = []
    }

    init(
        configuration: Configuration, publisher: PublisherService, reporter: StreamPublisher, logger: Logger,
        fetch: @escaping BackfillFetch
    ) {
        self.configuration = configuration
        self.publisher = publisher
        self.reporter = reporter
        self.logger = logger
        self.fetch = fetch
        (queue, enqueue) = AsyncStream.makeStream()
        pacer = Pacer(rate: configuration.rate)
    }

    /// Too many jobs are waiting: try again later.
    public struct QueueFull: Error, CustomStringConvertible {
        public let waiting: Int
        public var description: String { "\(waiting) backfill jobs are already waiting; try again later" }
    }

    /// Queues a job; returns its id.
    public func start(_ request: BackfillRequest) throws(QueueFull) -> String {
        let id = try state.withLock { s throws(QueueFull) -> String in
            let waiting = s.jobs.values.count { $0.state == .queued }
            guard waiting < BackfillJobs.maxQueued else { throw QueueFull(waiting: waiting) }
            let id = String(s.next)
            s.next += 1
            s.jobs[id] = BackfillJob(id: id, request: request)
            s.order.append(id)
            forgetOldJobs(&s)
            return id
        }
        enqueue.yield(id)
        reporter.report(.info, .jobQueued, ["job": .string(id), "symbol": .string(request.symbol),
                                "timespan": .string(request.kind.timespan), "from": .string(request.from.description),
                                "to": .string(request.to.description), "reason": .string(request.reason)])
        return id
    }

    private func forgetOldJobs(_ s: inout State) {
        let excess = s.order.count - configuration.history - BackfillJobs.maxQueued
        guard excess > 0 else { return }
        let finished = s.order.filter { s.jobs[$0].map { $0.state != .queued && $0.state != .running } ?? true }
        let forget = Set(finished.prefix(excess))
        for id in forget { s.jobs[id] = nil }
        s.order.removeAll { forget.contains($0) }
    }

    /// Every job remembered, oldest first.
    public func all() -> [BackfillJob] { state.withLock { s in s.order.compactMap { s.jobs[$0] } } }

    public func job(_ id: String) -> BackfillJob? { state.withLock { $0.jobs[id] } }

    /// Jobs by state, in a fixed order.
    public func summary() -> [(String, Int)] {
        let jobs = all()
        return [BackfillJob.State.queued, .running, .done, .failed, .cancelled].map { state in
            (state.rawValue, jobs.count { $0.state == state })
        }
    }

    /// Runs queued jobs, `concurrency` at a time, until cancelled; then marks the rest cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for await id in queue {
                if running >= configuration.concurrency {
                    await group.next()
                    running -= 1
                }
                group.addTask { await self.execute(id) }
                running += 1
            }
        }
        state.withLock { s in
            for id in s.order where s.jobs[id]?.state == .queued || s.jobs[id]?.state == .running {
                s.jobs[id]?.state = .cancelled
                s.jobs[id]?.finishedAt = WallClock.nanoseconds()
            }
        }
    }

    /// Stops taking jobs; `run` returns once the running ones end.
    func finish() { enqueue.finish() }

    private func update(_ id: String, _ body: (inout BackfillJob) -> Void) -> BackfillJob? {
        state.withLock { s in
            guard var job = s.jobs[id] else { return nil }
            body(&job)
            s.jobs[id] = job
            return job
        }
    }

    private func execute(_ id: String) async {
        guard let job = update(id, { $0.state = .running; $0.startedAt = WallClock.nanoseconds() }) else { return }
        if Task.isCancelled {
            _ = update(id) { $0.state = .cancelled; $0.finishedAt = WallClock.nanoseconds() }
            return
        }
        logger.info("backfill started", metadata: ["job": "\(id)", "symbol": "\(job.request.symbol)",
                                                  "timespan": "\(job.request.kind.timespan)"])
        let progress = ProgressReporter(id: id, reporter: reporter)
        do {
            if let notBefore = job.request.notBefore, notBefore > WallClock.nanoseconds() {
                _ = update(id) { $0.note = "waiting until \(UTCTime.iso8601(nanoseconds: notBefore)) for the window's bars to complete" }
                try await Task.sleep(for: .nanoseconds(notBefore - WallClock.nanoseconds()))
            }
            try await fetch(job.request, { [weak self] note in
                _ = self?.update(id) { $0.note = note; $0.retries += 1 }
            }, { [self] records in
                try await self.publish(records, job: id)
                if let job = self.update(id, { $0.pages += 1 }) { progress.maybeReport(job) }
            })
            let finished = update(id) { $0.state = .done; $0.note = nil; $0.finishedAt = WallClock.nanoseconds() }
            if let finished {
                logger.info("backfill done", metadata: ["job": "\(id)", "records": "\(finished.records)"])
                reporter.report(.info, .jobDone, ["job": .string(id),
                                        "records": .int(Int64(finished.records)), "pages": .int(Int64(finished.pages))])
            }
        } catch is CancellationError {
            _ = update(id) { $0.state = .cancelled; $0.finishedAt = WallClock.nanoseconds() }
        } catch {
            let message = "\(error)"
            let failed = update(id) { $0.state = .failed; $0.error = message; $0.finishedAt = WallClock.nanoseconds() }
            logger.warning("backfill failed", metadata: ["job": "\(id)", "error": "\(message)"])
            reporter.report(.warning, .jobFailed, ["job": .string(id), "error": .string(message),
                                       "records": .int(Int64(failed?.records ?? 0))])
        }
    }

    /// Publishes one page: HISTORICAL set, in chunks, paced, waiting for room instead of dropping.
    private func publish(_ records: [Record], job id: String) async throws {
        var start = 0
        while start < records.count {
            let end = min(records.count, start + configuration.chunk)
            var chunk = Array(records[start..<end])
            for i in chunk.indices { chunk[i].header.flags.insert(.historical) }
            try await pacer.wait(for: chunk.count)
            // Stay behind live traffic: only add to a queue that is nearly drained.
            while publisher.queued > configuration.chunk * 4 || !publisher.offer(contentsOf: chunk) {
                try await Task.sleep(for: .milliseconds(1))
            }
            let last = chunk[chunk.count - 1].header.tsEvent
            _ = update(id) { $0.records += UInt64(chunk.count); $0.lastEventTime = last }
            start = end
        }
    }
}

/// Reports a running job's progress on `S.<name>` at most once a second.
private final class ProgressReporter: Sendable {
    let id: String
    let reporter: StreamPublisher
    private let last = Mutex<Int64>(0)

    init(id: String, reporter: StreamPublisher) {
        self.id = id
        self.reporter = reporter
    }

    func maybeReport(_ job: BackfillJob) {
        let now = MonotonicClock.nanoseconds()
        let due = last.withLock { last -> Bool in
            guard now - last >= 1_000_000_000 else { return false }
            last = now
            return true
        }
        guard due else { return }
        reporter.report(.info, .jobProgress, ["job": .string(id), "records": .int(Int64(job.records)),
                                "pages": .int(Int64(job.pages)), "progress": .raw(String(Double(Int(job.progress * 1000)) / 1000))])
    }
}

/// A token bucket shared by all jobs: `rate` records a second, bursts of at most a tenth of it.
final class Pacer: Sendable {
    let rate: Int
    private let state = Mutex<(tokens: Double, at: Int64)>((0, MonotonicClock.nanoseconds()))

    init(rate: Int) { self.rate = rate }

    /// Waits until `count` records may go out.
    func wait(for count: Int) async throws {
        guard rate > 0 else { return }
        let capacity = max(Double(count), Double(rate) / 10)
        while true {
            let delay = state.withLock { s -> Int64 in
                let now = MonotonicClock.nanoseconds()
                s.tokens = min(capacity, s.tokens + Double(now - s.at) * Double(rate) / 1e9)
                s.at = now
                if s.tokens >= Double(count) {
                    s.tokens -= Double(count)
                    return 0
                }
                return Int64((Double(count) - s.tokens) / Double(rate) * 1e9)
            }
            if delay == 0 { return }
            try await Task.sleep(for: .nanoseconds(delay))
        }
    }
}
