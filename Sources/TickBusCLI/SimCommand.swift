import ArgumentParser
import Logging
import ServiceLifecycle
import Simulator
import TickBusCore

struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "A Massive-compatible WebSocket + REST server with a deterministic synthetic market.",
        discussion: """
            WebSocket clusters /stocks /options /indices /forex /crypto and REST \
            /v2/aggs/ticker/{t}/range/…, /v3/trades/{t}, /v3/quotes/{t} on one port. \
            Same --seed, same market: REST bars equal the stream's bars. See docs/simulator.md.
            """)

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port to bind (0 picks a free one; the log line says which).") var port = 7790
    @Option(name: .customLong("api-key"), help: "Require this key (default: any non-empty key).")
    var apiKey: String?
    @Option(help: "Seed of the synthetic market.") var seed: UInt64 = 1
    @Option(help: "Trades+quotes per second per market (index values / FX quotes); bars come on top.")
    var rate: Double = 100
    @Option(
        name: .customLong("symbols"),
        help: "Symbols, e.g. AAPL,MSFT,O:SPY251219C00650000,I:SPX,EUR/USD,BTC-USD or stocks=AAPL,MSFT; repeatable. Markets not named keep their defaults.")
    var symbols: [String] = []

    @Option(help: "Serve this file (one JSON frame per line) instead of the synthetic market.")
    var replay: String?
    @Option(name: .customLong("replay-speed"), help: "max (default) or recorded.") var replaySpeed = "max"
    @Flag(name: .customLong("replay-loop"), help: "Start the replay again at its end.") var replayLoop = false

    @Option(name: .customLong("rate-limit"), help: "REST requests per minute per key (429 beyond).")
    var rateLimit: Int?
    @Option(help: "Entitlements: basic, starter, developer or advanced.") var plan = "advanced"
    @Option(name: .customLong("connection-limit"), help: "Connections per key per market; a newer one evicts the oldest with max_connections.")
    var connectionLimit: Int?
    @Option(name: .customLong("auth-timeout"), help: "Seconds to wait for the auth message.") var authTimeout: Double = 15

    @Option(help: "Simulated clock start (Unix ms, YYYY-MM-DD or RFC 3339); default: the wall clock.")
    var start: String?
    @Option(help: "With --start: speed of the simulated clock (0 = as fast as the client reads).")
    var speed: Double = 1
    @Option(
        name: .customLong("market-time"),
        help: "What the market's clock reads now: now (default, the real calendar), session (now if US stocks are in their regular session, else the latest regular open) or a time (Unix ms, YYYY-MM-DD, RFC 3339). Event timestamps stay on the wall clock.")
    var marketTime = "now"
    @Option(
        name: .customLong("day-totals-limit"),
        help: "Events a new stream may generate per symbol to start av/a/op from the exact day so far (beyond, or 0: an estimate).")
    var dayTotalsLimit = 1_000_000
    @Option(name: .customLong("tick-ms"), help: "How often a connection sends what became due.") var tickMs: Double = 10
    @Option(name: .customLong("max-frame-bytes"), help: "Largest WebSocket frame sent.") var maxFrameBytes = 16_384
    @Option(name: .customLong("bar-delay-ms"), help: "Send bars this long after their window ends.") var barDelayMs: Double = 0
    @Option(name: .customLong("stop-after-events"), help: "Close each connection after this many events.")
    var stopAfterEvents: Int?

    @Option(name: .customLong("drop-every"), help: "Fault: drop each connection this many seconds after it opened.")
    var dropEvery: Double?
    @Flag(name: .customLong("drop-with-close-frame"), help: "Fault: drop with a close frame (1001) instead of cutting TCP.")
    var dropWithCloseFrame = false
    @Option(name: .customLong("malformed-per-second"), help: "Fault: malformed frames per second per connection.")
    var malformedPerSecond: Double = 0
    @Option(name: .customLong("slow-consumer-after"), help: "Fault: send slow_consumer and close after this many seconds.")
    var slowConsumerAfter: Double?
    @Option(name: .customLong("slow-consumer-lag"), help: "Send slow_consumer and close when a client falls this many seconds behind.")
    var slowConsumerLag: Double?
    @Option(name: .customLong("stall-every"), help: "Fault: every this many seconds, stop sending for --stall-for seconds.")
    var stallEvery: Double?
    @Option(name: .customLong("stall-for"), help: "Fault: length of a stall in seconds.") var stallFor: Double = 5
    @Option(name: .customLong("silent-at"), help: "Fault: never get past this handshake step: upgrade, greeting or auth.")
    var silentAt: SimulatorConfiguration.HandshakeStep?
    @Option(name: .customLong("oversize-message"), help: "Fault: after auth, send one text message of this many bytes.")
    var oversizeMessage: Int?
    @Option(name: .customLong("oversize-fragment"), help: "Fault: send --oversize-message in frames of this many bytes.")
    var oversizeFragment: Int?
    @Option(name: .customLong("rest-error-every"), help: "Fault: answer every Nth REST request with 429 (Retry-After) or 503 (not JSON), alternately.")
    var restErrorEvery: Int?
    @Option(name: .customLong("rest-error-burst"), help: "Fault: with --rest-error-every, this many REST requests in a row fail each time.")
    var restErrorBurst = 1
    @Option(name: .customLong("rest-retry-after"), help: "Fault: Retry-After seconds of injected 429s (-1: no header).")
    var restRetryAfter = 1

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"
    @Option(help: "Instead of serving: generate and encode this many events on one core and print the rate.")
    var benchmark: Int?

    func makeConfiguration() throws -> SimulatorConfiguration {
        var c = SimulatorConfiguration()
        c.host = host
        c.port = port
        c.apiKey = apiKey
        c.seed = seed
        c.rate = rate
        c.symbols = try SimulatorConfiguration.parseSymbols(symbols)
        if let replay {
            guard replaySpeed == "max" || replaySpeed == "recorded" else {
                throw ValidationError("--replay-speed must be max or recorded")
            }
            c.replay = .init(path: replay, recordedSpeed: replaySpeed == "recorded", loop: replayLoop)
        }
        c.restRateLimit = rateLimit
        guard let p = SimulatorConfiguration.Plan(rawValue: plan) else {
            throw ValidationError("--plan must be basic, starter, developer or advanced")
        }
        c.plan = p
        c.connectionLimit = connectionLimit
        c.authTimeout = .seconds(authTimeout)
        if let start {
            guard let ms = SimulatorConfiguration.parseTime(start) else {
                throw ValidationError("--start must be Unix ms, YYYY-MM-DD or RFC 3339")
            }
            c.clock = .simulated(startMs: ms, speed: speed)
        }
        guard let offset = SimulatorConfiguration.marketTimeOffset(marketTime, nowNs: WallClock.nanoseconds()) else {
            throw ValidationError("--market-time must be now, session, Unix ms, YYYY-MM-DD or RFC 3339")
        }
        if offset != .zero, start != nil { throw ValidationError("--market-time and --start exclude each other") }
        c.marketTimeOffset = offset
        c.dayTotalsLimit = dayTotalsLimit
        c.tickInterval = .milliseconds(tickMs)
        c.maxFrameBytes = maxFrameBytes
        c.barDelay = .milliseconds(barDelayMs)
        c.stopAfterEvents = stopAfterEvents
        c.slowConsumerLag = slowConsumerLag.map { .seconds($0) }
        c.faults.dropAfter = dropEvery.map { .seconds($0) }
        c.faults.dropAbruptly = !dropWithCloseFrame
        c.faults.malformedPerSecond = malformedPerSecond
        c.faults.slowConsumerAfter = slowConsumerAfter.map { .seconds($0) }
        c.faults.stallEvery = stallEvery.map { .seconds($0) }
        c.faults.stallFor = .seconds(stallFor)
        c.faults.silentAt = silentAt
        c.faults.oversizeMessage = oversizeMessage.map { ($0, oversizeFragment ?? $0) }
        c.faults.restErrorEvery = restErrorEvery
        c.faults.restErrorBurst = restErrorBurst
        c.faults.restRetryAfter = restRetryAfter < 0 ? nil : restRetryAfter
        do {
            try c.validate()
        } catch {
            throw ValidationError("\(error)")
        }
        return c
    }

    func validate() throws {
        _ = try makeConfiguration()
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    func run() async throws {
        if let benchmark {
            let r = SimulatorBenchmark.run(events: benchmark)
            print(
                "simulator generate+encode: \(Int(r.eventsPerSecond)) events/s, \(Int(r.megabytesPerSecond)) MB/s, "
                    + "\((r.bytesPerEvent * 10).rounded() / 10) bytes/event, \(r.frames) frames")
            return
        }
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tickbus.sim")
        let simulator = MassiveSimulator(configuration: try makeConfiguration(), logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [simulator], gracefulShutdownSignals: [.sigint, .sigterm], logger: logger))
        try await group.run()
    }
}

extension SimulatorConfiguration.HandshakeStep: ExpressibleByArgument {}
