import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Request context of the WebSocket router: keeps the channel so a fault can drop the TCP
/// connection without a close handshake.
struct SimulatorWebSocketContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.channel = source.channel
    }
}

/// A Massive-compatible server: WebSocket clusters `/stocks`, `/options`, `/indices`, `/forex`,
/// `/crypto` and the REST aggregates/trades/quotes endpoints on one port, fed by a
/// deterministic synthetic market (or a replay file).
///
/// ```swift
/// let sim = MassiveSimulator(configuration: .init(port: 0))
/// try await withThrowingTaskGroup(of: Void.self) { group in
///     group.addTask { try await sim.run() }
///     let url = try await sim.webSocketURL(.stocks)   // ws://127.0.0.1:PORT/stocks
///     ...
///     group.cancelAll()
/// }
/// ```
/// or `try await MassiveSimulator.withRunning(configuration) { sim in ... }`.
public final class MassiveSimulator: Service, Sendable {
    public let configuration: SimulatorConfiguration
    let logger: Logger
    private let universe: Universe
    /// The generated history (and its caches), shared by REST and the streams' day totals.
    private let history: HistoryEngine
    private let statsBox = StatsBox()
    private let registry = ConnectionRegistry()
    private enum PortState {
        case waiting([CheckedContinuation<Int, any Error>])
        case bound(Int)
        case failed(any Error)
    }
    private let portState = Mutex<PortState>(.waiting([]))
    /// Set when the server is asked to stop, so requests held by a fault end and let it stop.
    private let stopping = Atomic<Bool>(false)

    public init(configuration: SimulatorConfiguration, logger: Logger = Logger(label: "tickbus.sim")) {
        self.configuration = configuration
        self.logger = logger
        var rates: [Market: Double] = [:]
        for m in Market.allCases { rates[m] = configuration.rate(for: m) }
        self.universe = Universe(
            seed: configuration.seed, symbols: configuration.symbols, rates: rates,
            marketShift: configuration.marketTimeOffset.components.seconds)
        self.history = HistoryEngine(
            universe: universe, workLimit: configuration.restWorkLimit, dayTotalsLimit: configuration.dayTotalsLimit)
    }

    /// Run until cancelled or gracefully shut down (ServiceLifecycle).
    public func run() async throws {
        do {
            try await withGracefulShutdownHandler {
                try await withTaskCancellationHandler {
                    try await serve()
                } onCancel: {
                    stopping.store(true, ordering: .relaxed)
                }
            } onGracefulShutdown: {
                self.stopping.store(true, ordering: .relaxed)
            }
            fail(SimulatorError.notRunning)
        } catch {
            fail(error)
            throw error
        }
    }

    private func serve() async throws {
        try configuration.validate()
        var replay: ReplayData?
        if let r = configuration.replay {
            replay = try await NIOThreadPool.singleton.runIfActive { try ReplayData.load(r) }
        }
        let workers = NIOThreadPool(numberOfThreads: max(2, System.coreCount))
        workers.start()
        defer { workers.shutdownGracefully { _ in } }
        let environment = SessionEnvironment(
            configuration: configuration, universe: universe, history: history, workers: workers, registry: registry,
            replay: replay, stats: statsBox, logger: logger)
        let wsRouter = Router(context: SimulatorWebSocketContext.self)
        for market in Market.allCases {
            wsRouter.ws(RouterPath("/" + market.rawValue), shouldUpgrade: { [configuration, self] _, _ in
                // Fault: accept TCP, never answer the upgrade, until the server stops (which
                // waits for requests in flight).
                if configuration.faults.silentAt == .upgrade {
                    while !stopping.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(20)) }
                    return .dontUpgrade
                }
                return .upgrade([:])
            }) { inbound, outbound, context in
                await WebSocketSession.run(
                    market: market, inbound: inbound, outbound: outbound, channel: context.requestContext.channel,
                    environment: environment)
            }
        }
        for path in WebSocketSession.unsimulatedPaths {
            wsRouter.ws(RouterPath(path)) { inbound, outbound, _ in
                await WebSocketSession.runUnentitled(inbound: inbound, outbound: outbound, environment: environment)
            }
        }
        let rest = RESTResponder(
            configuration: configuration, universe: universe, history: history, workers: workers, stats: statsBox,
            logger: logger)
        var wsConfig = WebSocketServerConfiguration(
            maxFrameSize: max(configuration.maxFrameBytes, 1 << 16), autoPing: .enabled(timePeriod: .seconds(30)),
            closeTimeout: .seconds(5))
        wsConfig.validateUTF8 = false
        let app = Application(
            responder: rest,
            server: .http1WebSocketUpgrade(
                webSocketRouter: wsRouter, configuration: .init(http1: .init(), ws: wsConfig)),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { [weak self] channel in
                let port = channel.localAddress?.port ?? 0
                self?.bound(port)
                self?.logger.info(
                    "Massive simulator listening",
                    metadata: [
                        "address": "\(self?.configuration.host ?? ""):\(port)",
                        "markets": "\(Market.allCases.map(\.rawValue).joined(separator: ","))",
                        "market_time_offset": "\(self?.configuration.marketTimeOffset.components.seconds ?? 0)s",
                    ])
            },
            logger: logger)
        try await app.run()
    }

    private func bound(_ port: Int) {
        let waiters = portState.withLock { s -> [CheckedContinuation<Int, any Error>] in
            if case .waiting(let w) = s {
                s = .bound(port)
                return w
            }
            return []
        }
        for w in waiters { w.resume(returning: port) }
    }

    private func fail(_ error: any Error) {
        let waiters = portState.withLock { s -> [CheckedContinuation<Int, any Error>] in
            if case .waiting(let w) = s {
                s = .failed(error)
                return w
            }
            return []
        }
        for w in waiters { w.resume(throwing: error) }
    }

    /// The bound port, once the server listens (waits for it; throws if `run` failed first).
    public func port() async throws -> Int {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Int, any Error>) in
            let ready: Result<Int, any Error>? = portState.withLock { s in
                switch s {
                case .bound(let p): return .success(p)
                case .failed(let e): return .failure(e)
                case .waiting(var w):
                    w.append(c)
                    s = .waiting(w)
                    return nil
                }
            }
            if let ready { c.resume(with: ready) }
        }
    }

    /// `ws://host:port/market` of a running simulator.
    public func webSocketURL(_ market: Market) async throws -> String {
        "ws://\(urlHost):\(try await port())/\(market.rawValue)"
    }

    /// `http://host:port` of a running simulator (REST base URL).
    public func restBaseURL() async throws -> String {
        "http://\(urlHost):\(try await port())"
    }

    private var urlHost: String {
        let h = configuration.host == "0.0.0.0" ? "127.0.0.1" : configuration.host
        return h.contains(":") ? "[\(h)]" : h
    }

    /// Counters since start.
    public var stats: SimulatorStats { statsBox.snapshot }

    /// Start a simulator, run `body` with it once it listens, then shut it down gracefully
    /// (connections get a close frame; on an error it is cancelled instead).
    public static func withRunning<T: Sendable>(
        _ configuration: SimulatorConfiguration, logger: Logger = Logger(label: "tickbus.sim"),
        _ body: @Sendable (MassiveSimulator) async throws -> T
    ) async throws -> T {
        let simulator = MassiveSimulator(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [simulator], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                _ = try await simulator.port()
                let result = try await body(simulator)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                tasks.cancelAll()
                throw error
            }
        }
    }
}
