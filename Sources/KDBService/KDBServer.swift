import Bus
import KDB
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import Telemetry
import TickBusCore
import ZeroMQ

/// `tickbus kdb serve`: a tickerplant-compatible endpoint for q clients. It accepts the q
/// handshake (optionally checking a credentials file), answers `.u.sub` (and r.q's
/// ``(.u.sub[`;`];`.u `i`L)``) with the schema q expects, and pushes async
/// ``(`upd;`table;table)`` batches of the bus's records.
///
/// The clients are swift-nio channels on a small event-loop group, each with the pipeline
/// ``KDBHandshakeHandler`` → ``KDBFrameDecoder`` → ``KDBRequestHandler``. One thread owns the bus
/// subscriber (``SubscriptionFanOut``): it builds one batch per distinct subscription, encodes it
/// once and hands that one buffer to every channel holding the subscription, on the channel's event
/// loop. A client's unsent bytes are bounded by `clientQueueBytes` (its channel's write-buffer
/// high-water mark): one that passes it is disconnected with a log line, and no client ever waits
/// for another. A peer that sends garbage, a bad length or an unknown type, or stops in the middle
/// of a message, is closed and logged.
public final class KDBServer: Service, Sendable {
    public struct Configuration: Sendable {
        /// CURVE for reading the bus (a client of its publishers); nil: plain.
        public var busSecurity: CurveSecurity? = nil
        public var host: String
        /// 0: any free port (``listeningPort()`` tells which).
        public var port: UInt16
        /// `user:password` lines; nil accepts anyone.
        public var credentials: [String: String]?
        public var bus: [String]
        public var filters: [TopicFilter]
        public var flushInterval: Duration
        public var flushRows: Int
        /// Bytes queued for one client before it is disconnected as too slow.
        public var clientQueueBytes: Int
        public var separateHistorical: Bool
        /// The largest message a client may send.
        public var maxRequestBytes: Int
        /// Event-loop threads for the clients.
        public var eventLoopThreads: Int

        public init(
            host: String = "127.0.0.1", port: UInt16 = 5010, credentials: [String: String]? = nil,
            bus: [String] = [DefaultEndpoint.bus], filters: [TopicFilter] = [],
            flushInterval: Duration = .milliseconds(50), flushRows: Int = 10_000,
            clientQueueBytes: Int = 64 << 20, separateHistorical: Bool = false, maxRequestBytes: Int = 1 << 20,
            eventLoopThreads: Int = 2
        ) {
            self.host = host
            self.port = port
            self.credentials = credentials
            self.bus = bus
            self.filters = filters
            self.flushInterval = flushInterval
            self.flushRows = flushRows
            self.clientQueueBytes = clientQueueBytes
            self.separateHistorical = separateHistorical
            self.maxRequestBytes = maxRequestBytes
            self.eventLoopThreads = eventLoopThreads
        }
    }

    public struct Counters: Sendable, Equatable {
        public var records: UInt64 = 0
        public var unmapped: UInt64 = 0
        public var clients = 0
        public var connections: UInt64 = 0
        public var rejected: UInt64 = 0
        public var badPeers: UInt64 = 0
        public var slowClients: UInt64 = 0
        public var messagesQueued: UInt64 = 0
    }

    public let configuration: Configuration
    private let context: ZMQContext
    let logger: Logger
    private let state = Mutex(Counters())
    private let listening = Readiness<UInt16>()
    private let stopping = StopFlag()
    private let nextClientID = Atomic<Int>(1)
    /// The tables served and the answers to requests about them.
    let tables: ServedTables

    public init(configuration: Configuration, context: ZMQContext, logger: Logger) {
        self.configuration = configuration
        self.context = context
        self.logger = logger
        tables = ServedTables(separateHistorical: configuration.separateHistorical)
    }

    public var counters: Counters { state.withLock { $0 } }

    func count(_ change: (inout Counters) -> Void) { state.withLock { change(&$0) } }

    /// Copies the counters into swift-metrics; docs/operations.md lists the names.
    public func export(to metrics: SnapshotMetrics) {
        let c = counters
        metrics.count("tickbus_kdb_records_total", total: c.records)
        metrics.count("tickbus_kdb_unmapped_total", total: c.unmapped)
        metrics.count("tickbus_kdb_client_connections_total", total: c.connections)
        metrics.count("tickbus_kdb_clients_rejected_total", total: c.rejected)
        metrics.count("tickbus_kdb_bad_peers_total", total: c.badPeers)
        metrics.count("tickbus_kdb_slow_clients_total", total: c.slowClients)
        metrics.count("tickbus_kdb_messages_queued_total", total: c.messagesQueued)
        metrics.gauge("tickbus_kdb_clients", Double(c.clients))
    }

    /// The port q clients connect to, once ``run()`` has bound it; throws the bind's error.
    public func listeningPort() async throws -> UInt16 { try await listening.value() }

    /// Listens, then reads the bus until graceful shutdown or cancellation; then closes every client.
    public func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoopThreads))
        let fanOut = SubscriptionFanOut(server: self)
        let channel: any Channel
        do {
            channel = try await bootstrap(group, fanOut).bind(host: configuration.host, port: Int(configuration.port)).get()
        } catch {
            listening.fail(error)
            try? await group.shutdownGracefully()
            throw error
        }
        let port = channel.localAddress?.port.flatMap { UInt16(exactly: $0) } ?? configuration.port
        logger.info("serving q clients", metadata: ["port": "\(port)"])
        listening.succeed(port)
        var failure: (any Error)?
        do {
            try await runOnOwnThread(named: "kdb-serve-bus", stop: stopping) { [context, configuration] in
                try fanOut.run(context: context, configuration: configuration)
            }
        } catch {
            logger.error("bus reader failed: \(error)")
            failure = error
        }
        try? await channel.close().get()
        // Closes every client's channel.
        try? await group.shutdownGracefully()
        if let failure { throw failure }
    }

    /// Whether the service has been asked to stop (the bus thread polls it).
    var isStopping: Bool { stopping.isSet }

    private func bootstrap(_ group: MultiThreadedEventLoopGroup, _ fanOut: SubscriptionFanOut) -> ServerBootstrap {
        let bound = max(1, configuration.clientQueueBytes)
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: max(1, bound / 2), high: bound))
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let id = nextClientID.wrappingAdd(1, ordering: .relaxed).oldValue
                    var metadata: Logger.Metadata = ["client": "\(id)"]
                    if let ip = channel.remoteAddress?.ipAddress, let port = channel.remoteAddress?.port {
                        metadata["peer"] = "\(ip):\(port)"
                    }
                    count { $0.connections += 1 }
                    try channel.pipeline.syncOperations.addHandlers([
                        KDBHandshakeHandler(server: self, metadata: metadata),
                        ByteToMessageHandler(KDBFrameDecoder(maxLength: configuration.maxRequestBytes)),
                        KDBRequestHandler(server: self, fanOut: fanOut, id: id, metadata: metadata),
                    ])
                }
            }
    }
}
