import Bus
import Control
import Journal
import Logging
import Massive
import MassiveREST
import ServiceLifecycle
import Synchronization
import Telemetry
import TickBusCore
import ZeroMQ

/// `tickbus ingest`: one Massive stream in, normalised records out on the bus, with `S.<name>`
/// status records for every connection change and `H.<name>` heartbeats.
public final class IngestService: Service, Sendable {
    public struct Configuration: Sendable {
        public var stream: MassiveStream.Configuration
        /// Bus endpoints to bind.
        public var busEndpoints: [String]
        /// Process name: topics `S.<name>` and `H.<name>`.
        public var name: String
        public var sendHighWaterMark: Int32
        /// How often decoder counters are published as a status record (when they changed).
        public var countersInterval: Duration
        /// The control socket's endpoint (`docs/control.md`); nil: no control socket.
        public var controlEndpoint: String?
        /// Where subscription changes are kept across restarts; nil: not kept.
        public var stateFile: String?
        /// Massive's REST API for backfills and gap repair; nil: backfill unavailable.
        public var rest: MassiveRESTConfiguration?
        public var backfill: BackfillJobs.Configuration
        /// After a reconnection, backfill the missed window of the subscribed bar channels.
        public var gapRepair: Bool
        /// How long after the missed window's last bar ends gap repair asks REST for it.
        public var gapRepairDelay: Duration
        /// Subscribe upstream to what bus subscribers ask for (`docs/control.md`).
        public var onDemand: Bool
        /// Reported by `ping` and `status`.
        public var version: String
        /// CURVE for the bus and control sockets (docs/security.md); nil: plain.
        public var security: CurveSecurity?
        /// Where what it publishes is kept (docs/journal.md); nil: no journal.
        public var journal: JournalWriter.Configuration?
        /// Where the journal is served to replay clients (docs/replay.md); empty: nowhere.
        public var replayEndpoints: ReplayEndpoints
        /// When set, control requests must carry it as `"token"`.
        public var controlToken: String?

        public init(
            stream: MassiveStream.Configuration, busEndpoints: [String] = [DefaultEndpoint.bus],
            name: String = "ingest", sendHighWaterMark: Int32 = 100_000, countersInterval: Duration = .seconds(10),
            controlEndpoint: String? = nil, stateFile: String? = nil,
            rest: MassiveRESTConfiguration? = nil, backfill: BackfillJobs.Configuration = .init(), gapRepair: Bool = true,
            gapRepairDelay: Duration = .seconds(5),
            onDemand: Bool = false, version: String = "0", security: CurveSecurity? = nil, controlToken: String? = nil,
            journal: JournalWriter.Configuration? = nil, replayEndpoints: ReplayEndpoints = []
        ) {
            self.journal = journal
            self.replayEndpoints = replayEndpoints
            self.security = security
            self.controlToken = controlToken
            self.stream = stream
            self.busEndpoints = busEndpoints
            self.name = name
            self.sendHighWaterMark = sendHighWaterMark
            self.countersInterval = countersInterval
            self.controlEndpoint = controlEndpoint
            self.stateFile = stateFile
            self.rest = rest
            self.backfill = backfill
            self.gapRepair = gapRepair
            self.gapRepairDelay = gapRepairDelay
            self.onDemand = onDemand
            self.version = version
        }
    }

    public let configuration: Configuration
    private let context: ZMQContext
    private let logger: Logger
    private let bound = Mutex<(bus: [String], control: String?)>(([], nil))
    /// The running stream and what publishes it, for ``export(to:)``.
    private let running = Mutex<(stream: MassiveStream, publisher: StreamPublisher)?>(nil)

    public init(configuration: Configuration, context: ZMQContext, logger: Logger) {
        self.configuration = configuration
        self.context = context
        self.logger = logger
    }

    /// The bus endpoints once bound (real ports for `tcp://host:*`), empty before.
    public var endpoints: [String] { bound.withLock { $0.bus } }

    /// The control endpoint once bound, nil before (or without one).
    public var controlEndpoint: String? { bound.withLock { $0.control } }

    /// Exports the counters `status` reports through swift-metrics (docs/operations.md lists
    /// the names); nothing before ``run()`` has started the stream.
    public func export(to metrics: SnapshotMetrics) {
        guard let (stream, publisher) = running.withLock({ $0 }) else { return }
        publisher.export(stream, to: metrics)
    }

    public func run() async throws {
        let stream = MassiveStream(configuration: configuration.stream, logger: logger)
        let subscriptions = Subscriptions(stream: stream, store: configuration.stateFile.map(SubscriptionStore.init))
        let onDemand = configuration.onDemand
            ? OnDemand(subscriptions: subscriptions, market: configuration.stream.endpoint.market, logger: logger) : nil
        let publisher = try PublisherService(
            context: context,
            configuration: .init(
                name: configuration.name, endpoints: configuration.busEndpoints,
                sendHighWaterMark: configuration.sendHighWaterMark, security: configuration.security,
                journal: configuration.journal, replayEndpoints: configuration.replayEndpoints),
            lastValues: LastValueCache(), onSubscriptionChange: onDemand?.update)
        defer { publisher.stop() }
        logger.info("publishing on the bus", metadata: ["endpoints": "\(publisher.endpoints.joined(separator: " "))"])
        if let replay = publisher.replay {
            logger.info("serving journal replays", metadata: ["endpoints": "\(replay.endpoints.joined(separator: " "))"])
        }
        if let why = publisher.replayFailure {
            logger.warning("journal replays are not served (give --serve-replay)", metadata: ["error": "\(why)"])
        }
        let reporter = StreamPublisher(publisher: publisher, name: try Symbol(configuration.name),
                                      market: configuration.stream.endpoint.market, logger: logger)
        publisher.journal?.onEvent { [logger] event in
            event.log(to: logger)
            let (level, name, fields) = event.status
            reporter.report(level, name, fields)
        }
        let jobs = try configuration.rest.map { rest in
            BackfillJobs(
                configuration: configuration.backfill, publisher: publisher, reporter: reporter, logger: logger,
                fetch: try MassiveBackfill(configuration: rest, market: configuration.stream.endpoint.market, logger: logger).fetch)
        }
        if configuration.gapRepair, let jobs {
            let repair = GapRepair(jobs: jobs, subscriptions: subscriptions, lastValues: publisher.lastValues,
                                   market: configuration.stream.endpoint.market, delay: configuration.gapRepairDelay,
                                   logger: logger)
            reporter.gapRepair.withLock { $0 = repair }
        }
        let control = try configuration.controlEndpoint.map { endpoint in
            try ControlServer(
                context: context, endpoint: endpoint,
                handler: IngestControl(
                    name: configuration.name, version: configuration.version, url: configuration.stream.endpoint.url,
                    market: configuration.stream.endpoint.market, stream: stream, publisher: publisher,
                    reporter: reporter, subscriptions: subscriptions, jobs: jobs),
                logger: logger, security: configuration.security, token: configuration.controlToken)
        }
        defer { control?.stop() }
        if let control { logger.info("control socket ready", metadata: ["endpoint": "\(control.endpoint)"]) }
        bound.withLock { $0 = (publisher.endpoints, control?.endpoint) }
        running.withLock { $0 = (stream, reporter) }
        reporter.report(.info, .starting, ["url": .string(configuration.stream.endpoint.url),
                                "subscriptions": .strings(stream.subscriptions)])
        do {
            try await cancelWhenGracefulShutdown {
                try await publisher.watching { try await self.stream(stream, reporter, jobs) }
            }
        } catch is CancellationError {
            // Shutdown: the stream, the jobs and the counters task were cancelled.
        }
        reporter.report(.info, .stopped)
    }

    /// Runs the stream, the backfill jobs and the periodic counters until the stream ends.
    private func stream(_ stream: MassiveStream, _ reporter: StreamPublisher, _ jobs: BackfillJobs?) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await stream.run(handler: reporter) }
            group.addTask { try await reporter.reportCounters(of: stream, every: self.configuration.countersInterval) }
            if let jobs {
                group.addTask {
                    await withTaskCancellationHandler { await jobs.run() } onCancel: { jobs.finish() }
                }
            }
            defer { group.cancelAll() }
            do {
                try await group.next()
            } catch let error as MassiveStreamError {
                reporter.report(.error, .stopped, ["error": .string(error.description)])
                throw error
            }
        }
    }
}

/// Publishes the stream's records and turns its events into `S.<name>` status records.
final class StreamPublisher: MassiveStreamHandler {
    let publisher: PublisherService
    let name: Symbol
    let market: Market
    let logger: Logger
    let upstream = Mutex(UpstreamState())
    /// The events count the last export saw, and when it last moved (monotonic ns).
    private let lastEvent = Mutex<(events: UInt64, at: Int64?)>((0, nil))
    /// Starts backfills of the missed window after a reconnection, when set.
    let gapRepair = Mutex<GapRepair?>(nil)

    init(publisher: PublisherService, name: Symbol, market: Market, logger: Logger) {
        self.publisher = publisher
        self.name = name
        self.market = market
        self.logger = logger
    }

    func stream(records: [Record]) {
        publisher.submit(contentsOf: records)
    }

    func stream(_ event: StreamEvent) {
        upstream.withLock { $0.apply(event) }
        switch event {
        case .connecting(let url, let attempt):
            logger.info("connecting", metadata: ["url": "\(url)", "attempt": "\(attempt)"])
            report(.info, .connecting, ["url": .string(url), "attempt": .int(Int64(attempt))])
        case .connected:
            report(.info, .connected)
        case .authenticated:
            logger.info("authenticated")
            report(.info, .authenticated)
        case .subscribed(let message):
            report(.info, .subscribed, ["message": .string(message)])
        case .subscriptionError(let message):
            logger.warning("subscription refused", metadata: ["message": "\(message)"])
            report(.warning, .subscriptionError, ["message": .string(message)])
        case .upstreamStatus(let status):
            logger.warning("upstream status", metadata: ["status": "\(status.status)", "message": "\(status.message)"])
            report(.warning, .upstreamStatus, ["status": .string(status.status),
                              "message": .string(status.message)])
        case .disconnected(let reason, let at):
            report(.warning, .disconnected, ["reason": .string(reason), "at": .int(at)])
        case .resumed(let gapStart, let gapEnd, let attempt):
            logger.warning("reconnected; data between gap_start and gap_end was not received",
                           metadata: ["gap_start": "\(UTCTime.iso8601(nanoseconds: gapStart))",
                                      "gap_end": "\(UTCTime.iso8601(nanoseconds: gapEnd))"])
            report(.warning, .reconnected, ["gap_start": .int(gapStart), "gap_end": .int(gapEnd),
                              "attempt": .int(Int64(attempt))])
            gapRepair.withLock { $0 }?.repair(from: gapStart, to: gapEnd)
        case .retrying(let delay, let attempt):
            report(.info, .retrying, ["delay_ms": .int(delay.nanoseconds / 1_000_000),
                           "attempt": .int(Int64(attempt))])
        }
    }

    /// Publishes the decoder's counters whenever they changed, every `interval`.
    func reportCounters(of stream: MassiveStream, every interval: Duration) async throws {
        var last = DecodeCounters()
        while true {
            try await Task.sleep(for: interval)
            let counters = stream.counters
            guard counters != last else { continue }
            last = counters
            var problems = JSONObject()
            for (problem, count) in counters.problems.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                problems.add(problem.rawValue, raw: String(count))
            }
            var unpublished = JSONObject()
            for (ev, count) in counters.unpublished.sorted(by: { $0.key < $1.key }) {
                unpublished.add(ev, raw: String(count))
            }
            let bus = publisher.counters
            report(counters.problemTotal > 0 ? .warning : .info, .counters, [
                "frames": .int(Int64(counters.frames)),
                "events": .int(Int64(counters.events)), "records": .int(Int64(counters.records)),
                "published": .int(Int64(bus.published)), "dropped": .int(Int64(bus.dropped)),
                "problems": .raw(problems.text), "unpublished": .raw(unpublished.text),
            ])
        }
    }

    /// Exports the counters `status` reports, from the same snapshots: the hot path makes no
    /// metric call.
    func export(_ stream: MassiveStream, to metrics: SnapshotMetrics) {
        let decoder = stream.counters
        let upstream = upstream.withLock { $0 }
        let now = MonotonicClock.nanoseconds()
        let lastEventAt = lastEvent.withLock { last in
            if decoder.events != last.events || last.at == nil { last = (decoder.events, now) }
            return last.at ?? now
        }
        metrics.count("tickbus_ingest_frames_total", total: decoder.frames)
        metrics.count("tickbus_ingest_events_total", total: decoder.events)
        metrics.count("tickbus_ingest_records_total", total: decoder.records)
        metrics.count("tickbus_ingest_decode_problems_total", total: decoder.problemTotal)
        metrics.count("tickbus_ingest_reconnects_total", total: upstream.disconnections)
        metrics.count("tickbus_ingest_gaps_total", total: upstream.gaps)
        publisher.export(to: metrics)
        metrics.gauge("tickbus_ingest_streaming", upstream.state == .streaming ? 1 : 0)
        metrics.gauge("tickbus_ingest_seconds_since_last_event", Double(now - lastEventAt) / 1e9)
    }

    enum Value {
        case string(String), int(Int64), strings([String]), raw(String)
    }

    /// Publishes one status record (JSON object body, keys in the given order). Strings and
    /// lists, which may come from upstream or from long subscription lists, are cut to a few KiB
    /// and say so (`JSONObject.add(_:string:limit:)`), so the body stays far below the wire limit.
    func report(_ level: StatusLevel, _ event: IngestEvent, _ fields: KeyValuePairs<String, Value> = [:]) {
        report(level, event) { body in
            for (key, value) in fields {
                switch value {
                case .string(let s): body.add(key, string: s, limit: 4096)
                case .int(let n): body.add(key, raw: String(n))
                case .strings(let list): body.add(key, strings: list, limit: 16384)
                case .raw(let json): body.add(key, raw: json)
                }
            }
        }
    }

    /// Publishes one status record: `{"event": event, …fields}`.
    func report(_ level: StatusLevel, _ event: some StatusEventName, _ fields: (inout JSONObject) -> Void) {
        var body = JSONObject()
        body.add("event", string: event.rawValue)
        fields(&body)
        let now = WallClock.nanoseconds()
        publisher.submit(.status(Status(
            header: RecordHeader(market: market, tsEvent: now, tsRecv: now, symbol: name), level: level, json: body.text)))
    }
}
