import Bus
import Foundation
import KDB
import Logging
import ServiceLifecycle
import Synchronization
import Telemetry
import TickBusCore
import ZeroMQ

/// `tickbus kdb publish`: records from the bus into a kdb+ tickerplant as async
/// ``.u.upd[`table; columns]`` calls (deploy/kdb/sym.q's schema).
///
/// The bus thread owns the subscriber and the column batches; it flushes a table's batch when it
/// reaches `flushRows` rows or is `flushInterval` old, and hands the encoded message to a bounded
/// queue without ever waiting. The sender thread owns the TCP connection: it connects, performs
/// the handshake, writes messages in order, and reconnects with backoff when the tickerplant goes
/// away. While it is away messages wait in the queue; past `bufferRows` rows the oldest are
/// dropped, counted and reported on `S.<name>`.
public final class KDBPublisher: Service, Sendable {
    public struct Configuration: Sendable {
        /// CURVE for reading the bus (a client of its publishers); nil: plain.
        public var busSecurity: CurveSecurity? = nil
        public var host: String
        public var port: UInt16
        /// `user:password` (or `user`, or empty) sent in the handshake.
        public var credentials: String
        public var bus: [String]
        public var filters: [TopicFilter]
        public var flushInterval: Duration
        public var flushRows: Int
        public var bufferRows: Int
        /// HISTORICAL records to `<table>Hist` instead of the live tables.
        public var separateHistorical: Bool
        /// Compress messages over 2000 bytes when that halves them (as kdb+ does across hosts).
        public var compress: Bool
        /// Endpoints of the status publisher (`S.<name>`, `H.<name>`); empty: none.
        public var status: [String]
        public var name: String
        /// A sync round trip (a chaser) confirms delivery after this many rows or this long.
        public var confirmRows = 10_000
        public var confirmInterval: Duration = .milliseconds(100)

        public init(
            host: String, port: UInt16, credentials: String = "", bus: [String] = [DefaultEndpoint.bus],
            filters: [TopicFilter] = [], flushInterval: Duration = .milliseconds(50), flushRows: Int = 10_000,
            bufferRows: Int = 1_000_000, separateHistorical: Bool = false, compress: Bool = false,
            status: [String] = [], name: String = "kdb"
        ) {
            self.host = host
            self.port = port
            self.credentials = credentials
            self.bus = bus
            self.filters = filters
            self.flushInterval = flushInterval
            self.flushRows = flushRows
            self.bufferRows = bufferRows
            self.separateHistorical = separateHistorical
            self.compress = compress
            self.status = status
            self.name = name
        }
    }

    public struct Counters: Sendable, Equatable {
        /// Records read from the bus.
        public var records: UInt64 = 0
        /// Records with no table (status, heartbeats), not sent.
        public var unmapped: UInt64 = 0
        /// Rows and messages written to the tickerplant.
        public var rowsSent: UInt64 = 0
        public var messagesSent: UInt64 = 0
        /// Rows the tickerplant confirmed it processed (a sync round trip after them).
        public var rowsConfirmed: UInt64 = 0
        /// Rows sent but never confirmed, counted when their connection ended: the tickerplant
        /// may or may not have processed them. The rest of `rowsSent` are still in flight.
        public var rowsUnconfirmed: UInt64 = 0
        /// Rows dropped because the buffer overflowed while the tickerplant was slow or away.
        public var rowsDropped: UInt64 = 0
        /// Successful connections (the first one included).
        public var connections: UInt64 = 0
        public var connected = false
        /// Rows waiting for the tickerplant.
        public var buffered = 0
        /// Whether the tickerplant's tables were checked at the last connection, and how many
        /// of them differ from sym.q's (their `.u.upd` calls fail there).
        public var schemaVerified = false
        public var schemaProblems = 0
        /// Input sequence gaps and publisher restarts seen on the bus.
        public var gaps: UInt64 = 0
        public var restarts: UInt64 = 0
    }

    public let configuration: Configuration
    private let context: ZMQContext
    private let logger: Logger
    private let queue: MessageQueue
    private let schemaCheck: SchemaCheck
    private let state = Mutex(Counters())
    /// The last connection's schema check (nil before the first) and the last connect error:
    /// repeated in every `state` status record.
    private let link = Mutex<(schema: SchemaCheck.Outcome?, error: String)>((nil, ""))
    private let stopping = Atomic<Bool>(false)
    private let busDone = Atomic<Bool>(false)

    public init(configuration: Configuration, context: ZMQContext, logger: Logger) {
        self.configuration = configuration
        self.context = context
        self.logger = logger
        queue = MessageQueue(capacity: configuration.bufferRows)
        schemaCheck = SchemaCheck(filters: configuration.filters, separateHistorical: configuration.separateHistorical)
    }

    public var counters: Counters {
        var c = state.withLock { $0 }
        c.buffered = queue.weight
        return c
    }

    /// Copies the counters into swift-metrics; docs/operations.md lists the names.
    public func export(to metrics: SnapshotMetrics) {
        let c = counters
        metrics.count("tickbus_kdb_records_total", total: c.records)
        metrics.count("tickbus_kdb_unmapped_total", total: c.unmapped)
        metrics.count("tickbus_kdb_rows_sent_total", total: c.rowsSent)
        metrics.count("tickbus_kdb_messages_sent_total", total: c.messagesSent)
        metrics.count("tickbus_kdb_rows_confirmed_total", total: c.rowsConfirmed)
        metrics.count("tickbus_kdb_rows_unconfirmed_total", total: c.rowsUnconfirmed)
        metrics.count("tickbus_kdb_rows_dropped_total", total: c.rowsDropped)
        metrics.count("tickbus_kdb_connections_total", total: c.connections)
        metrics.count("tickbus_kdb_input_gaps_total", total: c.gaps)
        metrics.count("tickbus_kdb_input_restarts_total", total: c.restarts)
        metrics.gauge("tickbus_kdb_connected", c.connected ? 1 : 0)
        metrics.gauge("tickbus_kdb_buffered_rows", Double(c.buffered))
        metrics.gauge("tickbus_kdb_schema_verified", c.schemaVerified ? 1 : 0)
        metrics.gauge("tickbus_kdb_schema_problems", Double(c.schemaProblems))
    }

    public func run() async throws {
        let status = try configuration.status.isEmpty
            ? nil : PublisherService(context: context, configuration: .init(name: configuration.name, endpoints: configuration.status))
        defer { status?.stop() }
        let reporter = KDBStatusReporter(publisher: status, name: configuration.name, logger: logger)
        let failure = Mutex<(any Error)?>(nil)
        let finished = DispatchSemaphore(value: 0)
        let busThread = Thread { [self] in
            defer { busDone.store(true, ordering: .releasing); queue.close(); finished.signal() }
            do { try readBus(reporter) } catch {
                logger.error("bus reader failed: \(error)")
                failure.withLock { $0 = error }
                stop()
            }
        }
        busThread.name = "kdb-bus"
        let sendThread = Thread { [self] in
            defer { finished.signal() }
            send(reporter)
        }
        sendThread.name = "kdb-send"
        busThread.start()
        sendThread.start()
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
        if let error = failure.withLock({ $0 }) { throw error }
    }

    private func stop() { stopping.store(true, ordering: .relaxed) }

    // MARK: bus thread

    private func readBus(_ reporter: KDBStatusReporter) throws {
        let subscriber = try Subscriber(
            context: context, configuration: .init(endpoints: configuration.bus, filters: configuration.filters, security: configuration.busSecurity))
        let router = TableRouter(separateHistorical: configuration.separateHistorical, capacity: configuration.flushRows)
        let encoder = KBuffer(capacity: 1 << 16)
        let intervalNs = configuration.flushInterval.nanoseconds
        let flushRows = configuration.flushRows
        var firstRowAt = [Int64](repeating: 0, count: router.batches.count)
        var local = Counters()
        var dropped: UInt64 = 0, reportedDrops: UInt64 = 0, reportedUnmapped: UInt64 = 0
        var nextShare = MonotonicClock.nanoseconds()
        var nextState = nextShare

        func flush(_ index: Int) {
            let batch = router.batches[index]
            guard batch.rows > 0 else { return }
            encoder.removeAll()
            batch.encodeUpd(into: encoder)
            if configuration.compress { KMessage.compressIfWorthIt(encoder) }
            dropped += UInt64(queue.pushDroppingOldest(encoder.array, weight: batch.rows))
            batch.removeAll()
        }

        while !stopping.load(ordering: .relaxed) {
            let event = try subscriber.next(timeout: .milliseconds(max(1, intervalNs / 4_000_000)))
            let now = MonotonicClock.nanoseconds()
            switch event {
            case .record(let record):
                local.records += 1
                if let batch = router.route(record) {
                    let index = router.batches.firstIndex { $0 === batch }!
                    if batch.rows == 1 { firstRowAt[index] = now }
                    if batch.rows >= flushRows { flush(index) }
                }
            case .gap, .restart:
                guard let event else { break }
                if case .gap = event { local.gaps += 1 } else { local.restarts += 1 }
                reporter.report(.warning, "input") { $0.add("detail", raw: BusEventFormatter.json(event)) }
            default:
                break
            }
            for i in router.batches.indices where router.batches[i].rows > 0 && now - firstRowAt[i] >= intervalNs {
                flush(i)
            }
            if now >= nextShare {
                nextShare = now + 100_000_000
                local.unmapped = router.unmapped
                let snapshot = local
                let drops = dropped
                state.withLock {
                    $0.records = snapshot.records
                    $0.unmapped = snapshot.unmapped
                    $0.gaps = snapshot.gaps
                    $0.restarts = snapshot.restarts
                    $0.rowsDropped = drops
                }
                if snapshot.unmapped > reportedUnmapped {
                    let n = snapshot.unmapped - reportedUnmapped
                    logger.warning("\(n) records with no kdb+ table (status records) counted, not sent (\(snapshot.unmapped) in all)")
                    reporter.report(.warning, "unmapped") {
                        $0.add("count", raw: String(n))
                        $0.add("total", raw: String(snapshot.unmapped))
                    }
                    reportedUnmapped = snapshot.unmapped
                }
                if drops > reportedDrops {
                    logger.warning("buffer full: dropped the oldest \(drops - reportedDrops) rows (\(drops) in all)")
                    reporter.report(.warning, "dropped") {
                        $0.add("rows", raw: String(drops - reportedDrops))
                        $0.add("total", raw: String(drops))
                    }
                    reportedDrops = drops
                }
            }
            if now >= nextState {
                nextState = now + Self.statePeriod.nanoseconds
                reportState(reporter)
            }
        }
        for i in router.batches.indices { flush(i) }
        let drops = dropped
        state.withLock { $0.rowsDropped = drops }
    }

    // MARK: sender thread

    private func send(_ reporter: KDBStatusReporter) {
        let target = "\(configuration.host):\(configuration.port)"
        let intervalNs = configuration.confirmInterval.nanoseconds
        var backoffMs = 100
        var connection: TCPSocket?
        var delivery = DeliveryConfirmation(now: 0, lateReply: false, broken: true)
        var confirmedBefore: UInt64 = 0  // on earlier connections
        var lastError = ""
        // After stop, keep sending what is queued, and have it confirmed, while connected, for up to 2 s.
        var drainDeadline: Int64?
        while true {
            if stopping.load(ordering: .relaxed) && drainDeadline == nil {
                drainDeadline = MonotonicClock.nanoseconds() + 2_000_000_000
            }
            if let deadline = drainDeadline, MonotonicClock.nanoseconds() > deadline { break }
            guard let socket = connection else {
                if drainDeadline != nil { break }
                do {
                    let (socket, schema, replies) = try connect()
                    connection = socket
                    delivery = DeliveryConfirmation(
                        now: MonotonicClock.nanoseconds(), lateReply: replies == .oneLate, broken: replies == .unreadable)
                    if replies == .unreadable {
                        logger.warning("the tickerplant's reply could not be read: rows on this connection are not confirmed",
                                       metadata: ["tickerplant": "\(target)"])
                    }
                    backoffMs = 100
                    lastError = ""
                    link.withLock { $0.error = "" }
                    let n = state.withLock { $0.connected = true; $0.connections += 1; return $0.connections }
                    logger.info("connected to the tickerplant", metadata: ["tickerplant": "\(target)", "connection": "\(n)"])
                    reporter.report(.info, "connected") {
                        $0.add("tickerplant", string: target)
                        $0.add("connection", raw: String(n))
                    }
                    report(schema, reporter, target)
                } catch {
                    let text = "\(error)"
                    if text != lastError {
                        logger.warning("cannot reach the tickerplant, retrying with backoff", metadata: ["tickerplant": "\(target)", "error": "\(text)"])
                        reporter.report(.warning, "unreachable") {
                            $0.add("tickerplant", string: target)
                            $0.add("error", string: text)
                        }
                        lastError = text
                        link.withLock { $0.error = text }
                    }
                    sleepChecking(ms: backoffMs)
                    backoffMs = min(backoffMs * 2, 5000)
                }
                continue
            }
            do {
                let item = queue.pop(timeoutMs: delivery.settled ? 100 : 10)
                if item == nil && busDone.load(ordering: .acquiring) { _ = try socket.wait(for: POLLIN, timeoutMs: 10) }
                let now = MonotonicClock.nanoseconds()
                try delivery.receive(socket, now: now)
                if let (bytes, rows) = item {
                    do {
                        try socket.writeAll(bytes)
                    } catch {
                        queue.pushFront(bytes, weight: rows)
                        throw error
                    }
                    delivery.wrote(rows: rows)
                    state.withLock { $0.rowsSent += UInt64(rows); $0.messagesSent += 1 }
                }
                let finishing = busDone.load(ordering: .acquiring) && queue.weight == 0
                try delivery.chase(socket, now: now, rows: configuration.confirmRows, intervalNs: intervalNs, force: finishing)
                let confirmed = delivery.confirmed, sent = delivery.sent
                state.withLock { $0.rowsConfirmed = confirmedBefore + confirmed }
                if delivery.waiting(now: now) > 30_000_000_000 && !delivery.warnedSlow {
                    delivery.warnedSlow = true
                    logger.warning("the tickerplant has not answered a sync round trip for 30 s: \(sent - confirmed) rows unconfirmed",
                                   metadata: ["tickerplant": "\(target)"])
                }
                if finishing && delivery.settled { break }
            } catch {
                disconnected(&connection, &delivery, &confirmedBefore, reporter, target, "\(error)")
            }
        }
        if connection != nil { disconnected(&connection, &delivery, &confirmedBefore, reporter, target, "stopping") }
    }

    /// Closes the connection and counts the rows it sent that the tickerplant never confirmed.
    private func disconnected(
        _ connection: inout TCPSocket?, _ delivery: inout DeliveryConfirmation, _ confirmedBefore: inout UInt64,
        _ reporter: KDBStatusReporter,
        _ target: String, _ why: String
    ) {
        connection?.close()
        connection = nil
        let lost = delivery.unconfirmed
        confirmedBefore += delivery.confirmed
        let confirmed = confirmedBefore
        let total = state.withLock {
            $0.connected = false
            $0.rowsConfirmed = confirmed
            $0.rowsUnconfirmed += lost
            return $0.rowsUnconfirmed
        }
        delivery = DeliveryConfirmation(now: 0, lateReply: false, broken: true)
        if why != "stopping" {
            logger.warning("tickerplant connection lost, reconnecting", metadata: ["tickerplant": "\(target)", "error": "\(why)"])
            reporter.report(.warning, "disconnected") {
                $0.add("tickerplant", string: target)
                $0.add("rows_unconfirmed", raw: String(lost))
            }
        }
        guard lost > 0 else { return }
        logger.warning("\(lost) rows sent were not confirmed by the tickerplant: it may not have them (\(total) in all)",
                       metadata: ["tickerplant": "\(target)"])
        reporter.report(.warning, "unconfirmed") {
            $0.add("tickerplant", string: target)
            $0.add("rows", raw: String(lost))
            $0.add("total", raw: String(total))
        }
    }

    /// Connects and performs the handshake (a close without a reply byte is a rejection), then
    /// checks the tickerplant's tables.
    private func connect() throws -> (TCPSocket, SchemaCheck.Outcome, SchemaReply) {
        let socket = try TCPSocket.connect(host: configuration.host, port: configuration.port, timeoutMs: 2000)
        do {
            try socket.writeAll(KHandshake.clientHello(credentials: configuration.credentials))
            var reader = KStreamReader(socket: socket)
            do {
                let reply = try reader.read(1, timeoutMs: 5000)[0]
                guard reply >= 1 else { throw SocketError(operation: "tickerplant replied capability \(reply)", code: 0) }
            } catch let error as SocketError where error.operation == "peer closed" {
                throw SocketError(operation: "the tickerplant rejected the handshake ('access)", code: 0)
            }
            let (outcome, reply) = try checkSchema(&reader)
            return (socket, outcome, reply)
        } catch {
            socket.close()
            throw error
        }
    }

    /// Where the schema query leaves the connection's responses: read, still to come (dropped
    /// when it comes), or unreadable (the response stream cannot be followed).
    enum SchemaReply { case read, oneLate, unreadable }

    /// Asks the tickerplant for its tables' columns and types (one sync query).
    private func checkSchema(_ reader: inout KStreamReader) throws -> (SchemaCheck.Outcome, SchemaReply) {
        guard !schemaCheck.tables.isEmpty else { return (.matches, .read) }
        try reader.socket.writeAll(KMessage.encode(.vector(.char, .bytes(Array(schemaCheck.query.utf8))), type: .sync))
        let reply: [UInt8]?
        do {
            reply = try reader.readMessage(maxLength: 1 << 20, idleMs: 5000, stallMs: 5000)
        } catch let error as KError {
            return (.unverified("an unreadable reply (\(error))"), .unreadable)
        }
        guard let bytes = reply else { return (.unverified("no reply within 5 s"), .oneLate) }
        do {
            let (type, value) = try KMessage.decode(bytes)
            guard type == .response else { return (.unverified("a message of type \(type.rawValue) instead of a response"), .read) }
            return (schemaCheck.outcome(of: value), .read)
        } catch {
            return (.unverified("an undecodable reply (\(error))"), .read)
        }
    }

    private func report(_ schema: SchemaCheck.Outcome, _ reporter: KDBStatusReporter, _ target: String) {
        link.withLock { $0.schema = schema }
        switch schema {
        case .matches:
            state.withLock { $0.schemaVerified = true; $0.schemaProblems = 0 }
            logger.info("the tickerplant's tables match sym.q's", metadata: ["tickerplant": "\(target)"])
            return
        case .differs(let problems):
            state.withLock { $0.schemaVerified = true; $0.schemaProblems = problems.count }
            for problem in problems {
                logger.error("the tickerplant's table differs from sym.q's: its .u.upd calls for it fail there (rows are sent all the same)",
                             metadata: ["tickerplant": "\(target)", "problem": "\(problem)"])
            }
            reporter.report(.error, "schema_mismatch") {
                $0.add("tickerplant", string: target)
                $0.add("problems", raw: JSONObject.list(problems))
            }
        case .unverified(let why):
            state.withLock { $0.schemaVerified = false; $0.schemaProblems = 0 }
            logger.notice("could not check the tickerplant's tables", metadata: ["tickerplant": "\(target)", "why": "\(why)"])
            reporter.report(.warning, "schema_unverified") {
                $0.add("tickerplant", string: target)
                $0.add("detail", string: why)
            }
        }
    }

    /// How often the `state` status record repeats the connection and schema state, so that a
    /// status reader that starts late learns what the one-off events said.
    static let statePeriod: Duration = .seconds(5)

    /// `{"event":"state",...}` on `S.<name>`: the tickerplant, whether connected (else the last
    /// connect error), the schema check's outcome and the row counters.
    private func reportState(_ reporter: KDBStatusReporter) {
        let c = counters
        let (schema, error) = link.withLock { ($0.schema, $0.error) }
        reporter.report(.info, "state") {
            $0.add("tickerplant", string: "\(configuration.host):\(configuration.port)")
            $0.add("connected", raw: c.connected ? "true" : "false")
            $0.add("connections", raw: String(c.connections))
            if !c.connected && !error.isEmpty { $0.add("error", string: error) }
            switch schema {
            case nil: $0.add("schema", string: "unchecked")
            case .matches?: $0.add("schema", string: "matches")
            case .differs(let problems)?:
                $0.add("schema", string: "mismatch")
                $0.add("problems", raw: JSONObject.list(problems))
            case .unverified(let why)?:
                $0.add("schema", string: "unverified")
                $0.add("detail", string: why)
            }
            $0.add("rows_sent", raw: String(c.rowsSent))
            $0.add("rows_confirmed", raw: String(c.rowsConfirmed))
            $0.add("rows_unconfirmed", raw: String(c.rowsUnconfirmed))
            $0.add("rows_in_flight", raw: String(c.rowsSent - c.rowsConfirmed - c.rowsUnconfirmed))
            $0.add("rows_dropped", raw: String(c.rowsDropped))
            $0.add("rows_buffered", raw: String(c.buffered))
        }
    }

    private func sleepChecking(ms: Int) {
        var left = ms
        while left > 0 && !stopping.load(ordering: .relaxed) {
            Thread.sleep(forTimeInterval: Double(min(left, 50)) / 1000)
            left -= 50
        }
    }
}

/// Sends status records on `S.<name>` when a status publisher exists.
struct KDBStatusReporter: Sendable {
    let publisher: PublisherService?
    let name: String
    let logger: Logger

    /// Reports `{"event":event, ...}`, the other fields added by `fields` (the JSON writer
    /// escapes every string, user-supplied host names included).
    func report(_ level: StatusLevel, _ event: String, _ fields: (inout JSONObject) -> Void = { _ in }) {
        guard publisher != nil else { return }
        var json = JSONObject()
        json.add("event", string: event)
        fields(&json)
        report(level, json: json.text)
    }

    func report(_ level: StatusLevel, json: String) {
        guard let publisher, let symbol = try? Symbol(name) else { return }
        let now = WallClock.nanoseconds()
        publisher.submit(.status(Status(
            header: RecordHeader(market: .unknown, tsEvent: now, tsRecv: now, symbol: symbol), level: level, json: json)))
    }
}
