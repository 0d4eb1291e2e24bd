import Journal
import Logging
import ServiceLifecycle
import Synchronization
import Telemetry
import TickBusCore
import ZeroMQ

/// A service that reads the bus: one thread owns the subscriber and the ``BusConsumer``;
/// gaps and publisher restarts on the input are counted and, with a publisher, logged and
/// reported on `S.<name>` (`{"event":"input","detail":…}`); counters are shared every tick and exported by
/// ``export(to:)``; graceful shutdown stops the thread after the consumer's
/// ``BusConsumer/finish(input:)``.
/// With output endpoints it runs a ``PublisherService`` for its status and heartbeats (and
/// whatever the consumer publishes), and ends with an error if that publisher fails.
public final class ConsumerService<Consumer: BusConsumer>: Service, Sendable {
    public struct Configuration: Sendable {
        /// Process name: `S.<name>`, `H.<name>`, the `process` of its metrics.
        public var name: String
        public var input: Subscriber.Configuration
        /// Endpoints of its publisher; empty: it publishes nothing.
        public var output: [String]
        /// CURVE for its publisher (a server); nil: plain.
        public var outputSecurity: CurveSecurity?
        /// How often ``BusConsumer/tick(now:)`` runs and the counters are shared.
        public var tick: Duration
        /// The journal of what its publisher publishes (docs/journal.md); nil: none.
        public var journal: JournalWriter.Configuration?
        /// Where the journal is served to replay clients (docs/replay.md); empty: nowhere.
        public var replayEndpoints: ReplayEndpoints

        public init(
            name: String, input: Subscriber.Configuration, output: [String] = [], outputSecurity: CurveSecurity? = nil,
            tick: Duration = .milliseconds(100), journal: JournalWriter.Configuration? = nil, replayEndpoints: ReplayEndpoints = []
        ) {
            self.journal = journal
            self.replayEndpoints = replayEndpoints
            self.name = name
            self.input = input
            self.output = output
            self.outputSecurity = outputSecurity
            self.tick = tick
        }
    }

    /// Makes the consumer on the service's thread, once its publisher is up.
    public typealias Make = @Sendable (ConsumerContext) throws -> Consumer

    public let configuration: Configuration
    private let context: ZMQContext
    private let logger: Logger
    private let make: Make
    private let stopping = StopFlag()
    private let ready = Readiness<[String]>()
    private let state: Mutex<(counters: Consumer.Counters, input: Subscriber.Counters)>
    /// Its publisher while it runs, for ``export(to:)``.
    private let publisher = Mutex<PublisherService?>(nil)

    public init(configuration: Configuration, context: ZMQContext, logger: Logger, make: @escaping Make) {
        self.configuration = configuration
        self.context = context
        self.logger = logger
        self.make = make
        state = Mutex((Consumer.initialCounters, Subscriber.Counters()))
    }

    /// The consumer's counters as of the last tick.
    public var counters: Consumer.Counters { state.withLock { $0.counters } }

    /// What the subscriber has seen (records, gaps, lost, restarts, invalid) as of the last tick.
    public var input: Subscriber.Counters { state.withLock { $0.input } }

    /// The endpoints its publisher bound (none without output), once it runs; throws if the
    /// service failed first.
    public func endpoints() async throws -> [String] { try await ready.value() }

    /// The endpoints bound so far (empty before ``run()`` has bound them).
    public var boundEndpoints: [String] { ready.current ?? [] }

    public func run() async throws {
        do {
            guard !configuration.output.isEmpty else {
                ready.succeed([])
                return try await runOnOwnThread(named: Consumer.metricsKind, stop: stopping) { [self] in try loop(nil, nil) }
            }
            let publisher = try PublisherService(
                context: context,
                configuration: .init(
                    name: configuration.name, endpoints: configuration.output, security: configuration.outputSecurity,
                    journal: configuration.journal, replayEndpoints: configuration.replayEndpoints))
            defer { publisher.stop() }
            if let replay = publisher.replay {
                logger.info("serving journal replays", metadata: ["endpoints": "\(replay.endpoints.joined(separator: " "))"])
            }
            if let why = publisher.replayFailure {
                logger.warning("journal replays are not served (give --serve-replay)", metadata: ["error": "\(why)"])
            }
            let outbox = StatusOutbox(publisher: publisher, name: try Symbol(configuration.name))
            if let journal = publisher.journal {
                journal.onEvent { [logger] event in
                    event.log(to: logger)
                    let (level, name, fields) = event.status
                    var json = JSONObject()
                    json.add("event", string: name.rawValue)
                    fields(&json)
                    outbox.send(level, json.text)
                }
            }
            self.publisher.withLock { $0 = publisher }
            ready.succeed(publisher.endpoints)
            try await publisher.watching { [self] in
                try await runOnOwnThread(named: Consumer.metricsKind, stop: stopping) { [self] in try loop(publisher, outbox) }
            }
        } catch {
            ready.fail(error)
            throw error
        }
    }

    /// Exports the consumer's counters, the input's and its publisher's through swift-metrics.
    public func export(to metrics: SnapshotMetrics) {
        let (counters, input) = state.withLock { ($0.counters, $0.input) }
        Consumer.export(counters, to: metrics)
        let kind = Consumer.metricsKind
        metrics.count("tickbus_\(kind)_input_gaps_total", total: input.gaps)
        metrics.count("tickbus_\(kind)_input_lost_total", total: input.lost)
        metrics.count("tickbus_\(kind)_input_restarts_total", total: input.restarts)
        publisher.withLock { $0 }?.export(to: metrics)
    }

    private enum Event: String, StatusEventName {
        /// A gap or publisher restart on the input: `detail` is the tap JSON of the event.
        case input
    }

    /// The thread: read, consume, tick, until stopped or the consumer is done.
    private func loop(_ publisher: PublisherService?, _ outbox: StatusOutbox?) throws {
        let subscriber = try Subscriber(context: context, configuration: configuration.input)
        let name = try Symbol(configuration.name)
        let context = ConsumerContext(publisher: publisher, name: name, logger: logger, outbox: outbox)
        var consumer = try make(context)
        let tick = configuration.tick.nanoseconds
        let poll = Duration.milliseconds(max(1, min(50, tick / 1_000_000)))
        var nextTick = WallClock.nanoseconds() + tick
        func share() {
            let counters = consumer.counters, input = subscriber.counters
            state.withLock { $0 = (counters, input) }
        }
        defer {
            consumer.finish(input: subscriber.counters)
            outbox?.flush()
            share()
        }
        while !stopping.isSet && !consumer.isFinished {
            if let event = try subscriber.next(timeout: poll) {
                switch event {
                case .record(let record):
                    consumer.consume(record)
                case .gap, .restart:
                    if outbox != nil {
                        let detail = BusEventFormatter.json(event)
                        logger.warning("input: \(detail)")
                        context.report(.warning, Event.input) { $0.add("detail", raw: detail) }
                    }
                    consumer.notice(event)
                default:
                    consumer.notice(event)
                }
            }
            outbox?.flush()
            let now = WallClock.nanoseconds()
            if now >= nextTick {
                consumer.tick(now: now)
                nextTick = now + tick
                share()
            }
        }
    }
}
