import Bus
import Control
import Massive
import MassiveREST
import Synchronization
import TickBusCore

/// Answers the control protocol (`docs/control.md`) for a running ingest.
final class IngestControl: ControlHandler {
    /// Most records one `snapshot` reply carries.
    static let snapshotLimit = 10_000

    let name: String
    let version: String
    let startedAt = WallClock.nanoseconds()
    let url: String
    let market: Market
    let stream: MassiveStream
    let publisher: PublisherService
    let reporter: StreamPublisher
    let subscriptions: Subscriptions
    let jobs: BackfillJobs?

    init(
        name: String, version: String, url: String, market: Market, stream: MassiveStream, publisher: PublisherService,
        reporter: StreamPublisher, subscriptions: Subscriptions, jobs: BackfillJobs?
    ) {
        self.name = name
        self.version = version
        self.url = url
        self.market = market
        self.stream = stream
        self.publisher = publisher
        self.reporter = reporter
        self.subscriptions = subscriptions
        self.jobs = jobs
    }

    /// The ops ingest answers (docs/control.md).
    enum Op: String, CaseIterable {
        case ping, status, subscriptions, subscribe, unsubscribe, snapshot, backfill, jobs, job
    }

    func handle(_ request: ControlRequest, reply: inout JSONObject) throws(ControlError) {
        guard let op = Op(rawValue: request.op) else {
            throw ControlError(
                .unknownOp,
                "unknown op \"\(request.op.prefix(64))\": use \(Op.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        switch op {
        case .ping:
            reply.add("name", string: name)
            reply.add("version", string: version)
            reply.add("uptime_ms", raw: String((WallClock.nanoseconds() - startedAt) / 1_000_000))
        case .status:
            status(&reply)
        case .subscriptions:
            subscriptionList(&reply)
        case .subscribe:
            let topics = try request.strings("topics")
            let added = try Self.answer { () throws(SubscriptionChangeError) in try subscriptions.add(topics) }
            reporter.report(.info, .subscriptionsChanged, ["added": .strings(added),
                                    "subscriptions": .strings(subscriptions.current)])
            reply.add("added", raw: JSONObject.list(added))
            subscriptionList(&reply)
        case .unsubscribe:
            let topics = try request.strings("topics")
            let (removed, absent) = try Self.answer { () throws(SubscriptionChangeError) in try subscriptions.remove(topics) }
            reporter.report(.info, .subscriptionsChanged, ["removed": .strings(removed),
                                    "subscriptions": .strings(subscriptions.current)])
            reply.add("removed", raw: JSONObject.list(removed))
            reply.add("not_subscribed", raw: JSONObject.list(absent))
            subscriptionList(&reply)
        case .snapshot:
            try snapshot(request, &reply)
        case .backfill:
            let jobs = try availableJobs(), backfill = try backfillRequest(request)
            let job = try Self.answer { () throws(BackfillJobs.QueueFull) in try jobs.start(backfill) }
            reply.add("id", string: job)
        case .jobs:
            reply.add("jobs", raw: "[" + (try availableJobs()).all().map(\.json).joined(separator: ",") + "]")
        case .job:
            let id = try request.string("id")
            guard let job = try availableJobs().job(id) else { throw ControlError(.notFound, "no job \"\(id)\"") }
            reply.add("job", raw: job.json)
        }
    }

    /// Reads `symbol`, `from`, `to` and `timespan` (default `minute`) from a `backfill` request.
    private func backfillRequest(_ request: ControlRequest) throws(ControlError) -> BackfillRequest {
        let timespanText = try request.optionalString("timespan") ?? "minute"
        guard let kind = HistoryKind(timespan: timespanText) else {
            throw ControlError(
                .badTimespan, "unknown timespan \"\(timespanText.prefix(32))\": use second, minute, day, trade or quote")
        }
        func bound(_ key: String) throws(ControlError) -> HistoryBound {
            let text: String
            if let int = request.body[key]?.int {
                text = String(int)
            } else {
                text = try request.string(key)
            }
            do {
                return try HistoryBound(parsing: text)
            } catch {
                throw ControlError(.badDate, "\"\(key)\": \(error)")
            }
        }
        let symbol = try request.string("symbol"), from = try bound("from"), to = try bound("to")
        return try Self.answer { () throws(BackfillRequestError) in
            try BackfillRequest(symbol: symbol, kind: kind, from: from, to: to, market: market, reason: "request")
        }
    }

    /// Runs `body`, turning what a domain type refuses into the control error code docs/control.md
    /// gives for it: the one place where ingest's errors meet the control protocol's.
    private static func answer<T, E: Error>(_ body: () throws(E) -> T) throws(ControlError) -> T {
        do {
            return try body()
        } catch let error as BackfillRequestError {
            switch error {
            case .query(.badSymbol): throw ControlError(.badSymbol, error.description)
            case .query(.fromAfterTo), .rangeTooLong: throw ControlError(.badRange, error.description)
            case .query(.badTime): throw ControlError(.badDate, error.description)
            case .query(.unsupported): throw ControlError(.badField, error.description)
            }
        } catch let error as SubscriptionChangeError {
            switch error {
            case .invalid: throw ControlError(.badTopic, error.description)
            case .empty: throw ControlError(.badField, error.description)
            case .notSaved: throw ControlError(.internal, error.description)
            }
        } catch let error as BackfillJobs.QueueFull {
            throw ControlError(.unavailable, error.description)
        } catch {
            throw ControlError(.internal, "\(error)")
        }
    }

    private func availableJobs() throws(ControlError) -> BackfillJobs {
        guard let jobs else { throw ControlError(.unavailable, "backfill is not configured in this ingest") }
        return jobs
    }

    private func subscriptionList(_ reply: inout JSONObject) {
        let acknowledged = reporter.upstream.withLock { $0.acknowledged }
        let current = subscriptions.current
        reply.add("subscriptions", raw: JSONObject.list(current))
        reply.add("acknowledged", raw: JSONObject.list(current.filter { acknowledged.contains($0) }))
    }

    private func status(_ reply: inout JSONObject) {
        let upstream = reporter.upstream.withLock { $0 }
        let decoder = stream.counters
        let bus = publisher.counters
        reply.add("name", string: name)
        reply.add("version", string: version)
        reply.add("uptime_ms", raw: String((WallClock.nanoseconds() - startedAt) / 1_000_000))
        var up = JSONObject()
        up.add("url", string: url)
        up.add("market", string: market.name)
        up.add("state", string: upstream.state.rawValue)
        up.add("since", string: UTCTime.iso8601(nanoseconds: upstream.since))
        up.add("attempt", raw: String(upstream.attempt))
        up.add("connections", raw: String(upstream.connections))
        up.add("reconnects", raw: String(upstream.disconnections))
        up.add("gaps", raw: String(upstream.gaps))
        if let gap = upstream.lastGap {
            var g = JSONObject()
            g.add("start", string: UTCTime.iso8601(nanoseconds: gap.start))
            g.add("end", string: UTCTime.iso8601(nanoseconds: gap.end))
            up.add("last_gap", raw: g.text)
        }
        if let reason = upstream.lastDisconnect { up.add("last_disconnect", string: reason) }
        if let status = upstream.lastUpstreamStatus { up.add("last_status", string: status) }
        if let error = upstream.lastSubscriptionError { up.add("last_subscription_error", string: error) }
        reply.add("upstream", raw: up.text)
        var counters = JSONObject()
        counters.add("frames", raw: String(decoder.frames))
        counters.add("events", raw: String(decoder.events))
        counters.add("records", raw: String(decoder.records))
        counters.add("problems", raw: String(decoder.problemTotal))
        counters.add("published", raw: String(bus.published))
        counters.add("dropped", raw: String(bus.dropped))
        counters.add("queued", raw: String(publisher.queued))
        counters.add("reconnects", raw: String(upstream.disconnections))
        counters.add("gaps", raw: String(upstream.gaps))
        reply.add("counters", raw: counters.text)
        reply.add("subscriptions", raw: JSONObject.list(subscriptions.current))
        reply.add("bus", raw: JSONObject.list(publisher.endpoints))
        reply.add("cached_topics", raw: String(publisher.lastValues?.count ?? 0))
        if let jobs {
            var summary = JSONObject()
            for (state, count) in jobs.summary() { summary.add(state, raw: String(count)) }
            reply.add("jobs", raw: summary.text)
        }
    }

    private func snapshot(_ request: ControlRequest, _ reply: inout JSONObject) throws(ControlError) {
        var filters: [TopicFilter] = []
        for pattern in try request.strings("topics") {
            do {
                filters.append(try TopicFilter(pattern))
            } catch {
                throw ControlError(.badTopic, error.description)
            }
        }
        let records = publisher.lastValues?.records(matching: filters) ?? []
        reply.add("epoch", raw: String(publisher.epoch))
        reply.add("count", raw: String(min(records.count, Self.snapshotLimit)))
        reply.add("truncated", raw: records.count > Self.snapshotLimit ? "true" : "false")
        reply.add("records", raw: "[" + records.prefix(Self.snapshotLimit).map(RecordFormatter.json).joined(separator: ",") + "]")
    }
}
