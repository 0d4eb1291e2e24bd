import Bus
import Foundation
import KDB
import Logging
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
/// One thread reads the bus and builds one batch per distinct subscription; each batch is encoded
/// once and queued to every client holding that subscription. Each client has a reader thread
/// (handshake, requests) and a writer thread (its bounded queue). A client whose queue overflows is
/// disconnected with a log line; the others are not affected. A peer that sends garbage, a bad
/// length or an unknown type, or stops in the middle of a message, is closed and logged.
public final class KDBServer: Service, Sendable {
    public struct Configuration: Sendable {
        /// CURVE for reading the bus (a client of its publishers); nil: plain.
        public var busSecurity: CurveSecurity? = nil
        public var host: String
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

        public init(
            host: String = "127.0.0.1", port: UInt16 = 5010, credentials: [String: String]? = nil,
            bus: [String] = ["tcp://127.0.0.1:7700"], filters: [TopicFilter] = [],
            flushInterval: Duration = .milliseconds(50), flushRows: Int = 10_000,
            clientQueueBytes: Int = 64 << 20, separateHistorical: Bool = false, maxRequestBytes: Int = 1 << 20
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
    private let logger: Logger
    private let listener: TCPSocket
    private let registry = Mutex<(clients: [Int: Client], next: Int)>(([:], 1))
    /// Bumped after every change of who is subscribed to what; the bus thread regroups on it.
    private let subscriptionsVersion = Atomic<Int>(0)
    private let state = Mutex(Counters())
    private let stopping = Atomic<Bool>(false)
    /// The tables served, live then historical.
    let tables: [(table: TickTable, historical: Bool)]

    /// Binds the listening socket (so ``port`` is known before ``run()``).
    public init(configuration: Configuration, context: ZMQContext, logger: Logger) throws {
        self.configuration = configuration
        self.context = context
        self.logger = logger
        listener = try TCPSocket.listen(host: configuration.host, port: configuration.port)
        tables = TickTable.allCases.map { ($0, false) }
            + (configuration.separateHistorical ? TickTable.allCases.map { ($0, true) } : [])
    }

    /// The port actually bound.
    public var port: UInt16 { listener.localPort }

    public var counters: Counters {
        var c = state.withLock { $0 }
        c.clients = registry.withLock { $0.clients.count }
        return c
    }

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

    public func run() async throws {
        logger.info("serving q clients", metadata: ["port": "\(port)"])
        let failure = Mutex<(any Error)?>(nil)
        let finished = DispatchSemaphore(value: 0)
        let busThread = Thread { [self] in
            defer { finished.signal() }
            do { try readBus() } catch {
                logger.error("bus reader failed: \(error)")
                failure.withLock { $0 = error }
                stop()
            }
        }
        busThread.name = "kdb-serve-bus"
        let acceptThread = Thread { [self] in
            defer { finished.signal() }
            acceptLoop()
        }
        acceptThread.name = "kdb-serve-accept"
        busThread.start()
        acceptThread.start()
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                while !Task.isCancelled, !stopping.load(ordering: .relaxed) {
                    try? await Task.sleep(for: .milliseconds(100))
                }
            } onCancel: { self.stop() }
        } onGracefulShutdown: { self.stop() }
        stop()
        finished.wait()
        finished.wait()
        for client in registry.withLock({ Array($0.clients.values) }) { client.close() }
        listener.close()
        if let error = failure.withLock({ $0 }) { throw error }
    }

    private func stop() { stopping.store(true, ordering: .relaxed) }

    // MARK: clients

    private func acceptLoop() {
        while !stopping.load(ordering: .relaxed) {
            do {
                guard let (socket, peer) = try listener.accept(timeoutMs: 100) else { continue }
                let id = registry.withLock { r in defer { r.next += 1 }; return r.next }
                let client = Client(id: id, socket: socket, peer: peer, queueBytes: configuration.clientQueueBytes)
                state.withLock { $0.connections += 1 }
                let reader = Thread { [self] in serve(client) }
                reader.name = "kdb-client-\(id)"
                reader.start()
            } catch {
                logger.error("accept failed: \(error)")
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
    }

    /// A client's reader thread: handshake, then requests until it closes or misbehaves.
    private func serve(_ client: Client) {
        let meta: Logger.Metadata = ["client": "\(client.id)", "peer": "\(client.peer)"]
        var reader = KStreamReader(socket: client.socket)
        var requestLog = LogLimiter()
        defer {
            let known = registry.withLock { $0.clients.removeValue(forKey: client.id) != nil }
            if known { subscriptionsVersion.add(1, ordering: .releasing) }
            client.close()
            if known {
                let held = requestLog.suppressed
                logger.info("client disconnected", metadata: held > 0 ? meta.merging(["log_lines_suppressed": "\(held)"]) { $1 } : meta)
            }
        }
        do {
            let hello = KHandshake.parseHello(try reader.readHello(timeoutMs: 10_000))
            if let users = configuration.credentials, users[hello.user] != hello.password || hello.password == nil {
                state.withLock { $0.rejected += 1 }
                logger.warning("rejected credentials", metadata: meta.merging(["user": "\(hello.user)"]) { $1 })
                return
            }
            try client.socket.writeAll([hello.reply])
        } catch {
            state.withLock { $0.badPeers += 1 }
            logger.warning("bad handshake, closed: \(error)", metadata: meta)
            return
        }
        let writer = Thread { [self] in client.writeLoop(logger: logger, metadata: meta) }
        writer.name = "kdb-client-\(client.id)-write"
        writer.start()
        registry.withLock { $0.clients[client.id] = client }
        logger.info("client connected", metadata: meta)
        while !stopping.load(ordering: .relaxed) && !client.isClosed {
            let bytes: [UInt8]
            do {
                guard let message = try reader.readMessage(
                    maxLength: configuration.maxRequestBytes, idleMs: 200, stallMs: 10_000)
                else { continue }
                bytes = message
            } catch let error as SocketError where error.operation == "peer closed" {
                return
            } catch {
                if client.isClosed { return }
                state.withLock { $0.badPeers += 1 }
                logger.warning("bad message, closing the connection: \(error)", metadata: meta)
                return
            }
            let type: KMessageType, request: KValue
            do {
                (type, request) = try KMessage.decode(bytes, maxLength: configuration.maxRequestBytes)
            } catch {
                state.withLock { $0.badPeers += 1 }
                logger.warning("bad message, closing the connection: \(error)", metadata: meta)
                return
            }
            guard type != .response else { continue }
            let (reply, subscription) = answer(request)
            // An async request gets no answer, as from tick.q: `neg[h](".u.sub";`trade;`)` subscribes.
            var out: [UInt8]? = nil
            if type == .sync {
                out = (try? KMessage.encode(reply, type: .response)) ?? Self.typeError
            }
            let queued: Bool
            if let (names, syms) = subscription {
                queued = subscribe(client, tables: names, syms: syms, reply: out)
                if queued, let held = requestLog.admit() {
                    logger.info("subscribed", metadata: meta.merging([
                        "tables": "\(names.joined(separator: ","))", "syms": "\(syms?.joined(separator: ",") ?? "all")",
                    ].merging(held > 0 ? ["log_lines_suppressed": "\(held)"] : [:]) { $1 }) { $1 })
                }
            } else {
                if case .error("nyi") = reply, let held = requestLog.admit() {
                    logger.info("unsupported request ('nyi)", metadata: held > 0 ? meta.merging(["log_lines_suppressed": "\(held)"]) { $1 } : meta)
                }
                queued = out.map { client.enqueue($0, reply: true) } ?? true
            }
            // Replies count against the client's queue as updates do: one that reads none is slow.
            if !queued {
                if !client.isClosed { disconnectSlow(client, because: "replies unread") }
                return
            }
        }
    }

    /// The reply to a request whose answer cannot be encoded.
    private static let typeError: [UInt8] = [1, 2, 0, 0, 14, 0, 0, 0, 128] + Array("type".utf8) + [0]

    /// Counts, logs and closes a client whose queue passed `--client-queue-kb`.
    private func disconnectSlow(_ client: Client, because reason: String) {
        state.withLock { $0.slowClients += 1 }
        logger.warning(
            "slow client disconnected: its queue passed \(configuration.clientQueueBytes) bytes",
            metadata: ["client": "\(client.id)", "peer": "\(client.peer)", "reason": "\(reason)"])
        client.close()
    }

    /// The reply to a request (sent only for a sync one), and the subscription it makes (tables,
    /// symbols or nil for all).
    private func answer(_ request: KValue) -> (KValue, ([String], [String]?)?) {
        guard let parsed = SubscriptionRequest(request) else { return (.error("nyi"), nil) }
        let all = tables.map { $0.table.name(historical: $0.historical) }
        switch parsed {
        case .replay:
            return (.list([schemas(all), .list([.long(KNull.long), .symbol("")])]), (all, nil))
        case .subscribe(nil, let syms):
            return (schemas(all), (all, syms))
        case .subscribe(let table?, let syms):
            guard all.contains(table) else { return (.error(table), nil) }
            return (schemaPair(table), ([table], syms))
        case .pykxProbe(let name):
            // As q answers pykx's probe: `.q` and `.u` are namespaces, `.u.sub` a function; this
            // process evaluates nothing else, so other names are undefined (q's error is the name).
            switch name {
            case ".q", ".u": return (.atom(.symbol, .symbol("_pykx_ctx_marker")), nil)
            case ".u.sub": return (.atom(.symbol, .symbol("_pykx_fn_marker")), nil)
            default: return (.error(name), nil)
            }
        case .namespaceKeys(let name):
            // q lists a namespace's names after its leading null one; `.q` holds no function here.
            switch name {
            case ".q": return (.vector(.symbol, .symbols([""])), nil)
            case ".u": return (.vector(.symbol, .symbols(["", "sub"])), nil)
            default: return (.error(name), nil)
            }
        }
    }

    private func schemaPair(_ name: String) -> KValue {
        guard let entry = tables.first(where: { $0.table.name(historical: $0.historical) == name }) else { return .error(name) }
        return .list([.symbol(name), entry.table.emptyTable()])
    }

    private func schemas(_ names: [String]) -> KValue { .list(names.map(schemaPair)) }

    /// Records the subscription and queues `reply` (nil for an async `.u.sub`) as one step, as
    /// tick.q's `.u.sub` does. Under the client's subscriptions lock, which the bus thread's
    /// regroup also takes: the subscription, then the version bump, then the reply. So a regroup
    /// that sees the bump waits until the reply is queued (no upd comes before it), and any record
    /// sent after the client read its reply finds the bump already made and reaches the client.
    /// A repeated identical `.u.sub` changes nothing and does not bump the version. False when
    /// the client is closed or the reply does not fit in its queue.
    private func subscribe(_ client: Client, tables names: [String], syms: [String]?, reply: [UInt8]?) -> Bool {
        let symbols = syms.map { Set($0.compactMap { try? FixedString($0) }) }
        return client.subscriptions.withLock { subs -> Bool in
            guard !client.isClosed else { return false }
            if names.contains(where: { subs[$0] != .some(symbols) }) {
                for name in names { subs[name] = symbols }
                subscriptionsVersion.add(1, ordering: .releasing)
            }
            guard let reply else { return true }
            return client.enqueue(reply, reply: true)
        }
    }

    // MARK: bus thread

    /// Clients sharing one subscription to one table, and the batch built for them.
    private final class Group {
        let syms: Set<FixedString>?
        let batch: TickBatch
        var clients: [Client] = []
        var firstRowAt: Int64 = 0
        init(syms: Set<FixedString>?, batch: TickBatch) {
            self.syms = syms
            self.batch = batch
        }
    }

    private func readBus() throws {
        let subscriber = try Subscriber(
            context: context, configuration: .init(endpoints: configuration.bus, filters: configuration.filters, security: configuration.busSecurity))
        let encoder = KBuffer(capacity: 1 << 16)
        let intervalNs = configuration.flushInterval.nanoseconds
        var groups: [[Group]] = Array(repeating: [], count: tables.count)
        var version = -1
        var local = Counters()
        var nextShare = MonotonicClock.nanoseconds()

        func flush(_ group: Group) {
            guard group.batch.rows > 0 else { return }
            encoder.removeAll()
            let dayNs: Int64 = 86_400_000_000_000
            group.batch.encodeTable(time: ((WallClock.nanoseconds() % dayNs) + dayNs) % dayNs, into: encoder)
            let bytes = encoder.array
            for client in group.clients where !client.isClosed && !client.enqueue(bytes, reply: false) {
                disconnectSlow(client, because: "updates unread")
            }
            local.messagesQueued += UInt64(group.clients.count)
            group.batch.removeAll()
        }

        func rebuild() {
            for g in groups.joined() { flush(g) }
            version = subscriptionsVersion.load(ordering: .acquiring)
            let clients = registry.withLock { Array($0.clients.values) }
            groups = tables.map { entry in
                let name = entry.table.name(historical: entry.historical)
                var byFilter: [Set<FixedString>?: Group] = [:]
                for client in clients.sorted(by: { $0.id < $1.id }) {
                    guard let syms = client.subscriptions.withLock({ $0[name] }) else { continue }
                    let group = byFilter[syms] ?? Group(syms: syms, batch: TickBatch(
                        table: entry.table, historical: entry.historical, capacity: 256))
                    group.clients.append(client)
                    byFilter[syms] = group
                }
                return Array(byFilter.values)
            }
        }

        let perTable = TickTable.allCases.count
        while !stopping.load(ordering: .relaxed) {
            let event = try subscriber.next(timeout: .milliseconds(max(1, intervalNs / 4_000_000)))
            // After the wait: a record that arrives after a subscription reaches its new subscriber.
            if subscriptionsVersion.load(ordering: .acquiring) != version { rebuild() }
            let now = MonotonicClock.nanoseconds()
            if case .record(let record) = event {
                local.records += 1
                let table: TickTable?, header: RecordHeader
                switch record {
                case .trade(let t): (table, header) = (.trade, t.header)
                case .quote(let q): (table, header) = (.quote, q.header)
                case .bar(let b): (table, header) = (.bar, b.header)
                case .status(let s): (table, header) = (nil, s.header)
                case .heartbeat(let h): (table, header) = (nil, h.header)
                }
                if let table {
                    let historical = configuration.separateHistorical && header.flags.contains(.historical)
                    for group in groups[table.rawValue + (historical ? perTable : 0)]
                    where group.syms?.contains(header.symbol) ?? true {
                        switch record {
                        case .trade(let t): group.batch.append(t)
                        case .quote(let q): group.batch.append(q)
                        case .bar(let b): group.batch.append(b, source: (try? FixedString(Topic(of: record).kind.code)) ?? FixedString())
                        default: break
                        }
                        if group.batch.rows == 1 { group.firstRowAt = now }
                        if group.batch.rows >= configuration.flushRows { flush(group) }
                    }
                } else {
                    local.unmapped += 1
                }
            }
            for group in groups.joined() where group.batch.rows > 0 && now - group.firstRowAt >= intervalNs {
                flush(group)
            }
            if now >= nextShare {
                nextShare = now + 100_000_000
                let snapshot = local
                state.withLock {
                    $0.records = snapshot.records
                    $0.unmapped = snapshot.unmapped
                    $0.messagesQueued = snapshot.messagesQueued
                }
            }
        }
    }
}

/// One connected q client: its socket, its subscriptions and its bounded outgoing queue.
final class Client: Sendable {
    let id: Int
    let socket: TCPSocket
    let peer: String
    let queue: MessageQueue
    /// Table name → symbols (nil: all).
    let subscriptions = Mutex<[String: Set<FixedString>?]>([:])
    private let closed = Atomic<Bool>(false)

    init(id: Int, socket: TCPSocket, peer: String, queueBytes: Int) {
        self.id = id
        self.socket = socket
        self.peer = peer
        queue = MessageQueue(capacity: queueBytes)
    }

    var isClosed: Bool { closed.load(ordering: .relaxed) }

    /// Queues a message, its bytes counted against the client's bound; false when it does not fit
    /// or the client is closed. A `reply` goes into an empty queue whatever its size.
    func enqueue(_ bytes: [UInt8], reply: Bool) -> Bool {
        if isClosed { return false }
        return queue.push(bytes, weight: bytes.count, evenIfEmpty: reply)
    }

    /// Writes queued messages until the connection closes.
    func writeLoop(logger: Logger, metadata: Logger.Metadata) {
        while !isClosed {
            guard let (bytes, _) = queue.pop(timeoutMs: 200) else { continue }
            do { try socket.writeAll(bytes) } catch {
                if !isClosed { logger.info("write failed, closing: \(error)", metadata: metadata) }
                close()
            }
        }
    }

    /// Closes once: wakes the reader and writer threads.
    func close() {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        queue.close()
        socket.shutdown()
    }
}

/// Lets a client's repeated log lines (one per request) through at up to `burst` per `periodNs`
/// and counts the ones it holds back, so a client flooding requests cannot flood the log.
struct LogLimiter {
    var burst = 20
    var periodNs: Int64 = 10_000_000_000
    private var windowStart: Int64 = .min
    private var used = 0
    private var held = 0
    /// Lines held back in all.
    private(set) var suppressed = 0

    /// nil: hold this line back; otherwise log it, with the number held back since the last one.
    mutating func admit(now: Int64 = MonotonicClock.nanoseconds()) -> Int? {
        if windowStart == .min || now - windowStart >= periodNs {
            windowStart = now
            used = 0
        }
        guard used < burst else {
            held += 1
            suppressed += 1
            return nil
        }
        used += 1
        defer { held = 0 }
        return held
    }
}
