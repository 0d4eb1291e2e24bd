import Foundation
import Journal
import TickBusCore
import ZeroMQ

/// Something a ``Subscriber`` saw on the bus.
public enum BusEvent: Sendable, Equatable {
    /// A record matching the subscriber's filters.
    case record(Record)
    /// Sequence numbers of `topic` were skipped: `lost` records never arrived.
    case gap(topic: Topic, expected: UInt64, received: UInt64, lost: UInt64)
    /// A publisher restarted (its epoch changed); reported once per epoch change.
    case restart(topic: Topic, previousEpoch: UInt32, epoch: UInt32)
    /// A publisher's heartbeats stopped (`publisher` nil: none was ever heard) for `silentFor`.
    case silent(publisher: String?, silentFor: Duration)
    /// Heartbeats from a publisher that had gone silent resumed.
    case resumed(publisher: String)
    /// A message that is not a valid record; counted under ``Subscriber/Counters/invalid``.
    case invalid(WireError)
}

/// Receives records from one or more publishers, checks their sequence numbers and watches the
/// publishers' heartbeats. It belongs to the thread that creates it.
public final class Subscriber {
    public struct Configuration: Sendable {
        /// Endpoints to connect, e.g. `tcp://127.0.0.1:7700`; `@tcp://…` binds instead.
        public var endpoints: [String]
        /// What to receive; empty means everything.
        public var filters: [TopicFilter]
        /// Messages queued before libzmq drops further ones for this subscriber.
        public var receiveHighWaterMark: Int32
        /// A publisher whose heartbeats stop for this long is reported silent.
        public var heartbeatTimeout: Duration
        /// CURVE for every endpoint (docs/security.md); nil: plain ZMTP.
        public var security: CurveSecurity?
        /// Fill gaps and restarts from the publishers' journals (docs/replay.md); nil: report them.
        public var recovery: Recovery?

        public init(
            endpoints: [String], filters: [TopicFilter] = [], receiveHighWaterMark: Int32 = 100_000,
            heartbeatTimeout: Duration = .seconds(3), security: CurveSecurity? = nil, recovery: Recovery? = nil
        ) {
            self.recovery = recovery
            self.security = security
            self.endpoints = endpoints
            self.filters = filters
            self.receiveHighWaterMark = receiveHighWaterMark
            self.heartbeatTimeout = heartbeatTimeout
        }
    }

    /// Where a subscriber gets back what the live bus lost.
    public struct Recovery: Sendable {
        /// The replay endpoints of the publishers read (``DefaultEndpoint/replay(beside:)``).
        public var endpoints: [String]
        /// Replay from here before going live (a late start); nil: live only, with gaps and
        /// restarts filled.
        public var start: JournalStart?
        /// How long each wait on a replay server may take.
        public var timeout: Duration

        public init(endpoints: [String], start: JournalStart? = nil, timeout: Duration = .seconds(30)) {
            self.endpoints = endpoints
            self.start = start
            self.timeout = timeout
        }
    }

    /// What the subscriber has seen.
    public struct Counters: Sendable, Equatable {
        public var records: UInt64 = 0
        public var gaps: UInt64 = 0
        /// Records lost in gaps.
        public var lost: UInt64 = 0
        public var restarts: UInt64 = 0
        /// Records with a sequence number already passed (duplicates).
        public var stale: UInt64 = 0
        /// Invalid messages by ``WireError/category``.
        public var invalid: [String: UInt64] = [:]
        public var heartbeats: UInt64 = 0
        /// Records delivered from replays (gaps, restarts and a late start filled).
        public var recovered: UInt64 = 0
        /// Replays that failed (the server refused or did not answer); their gaps are reported.
        public var replayFailures: UInt64 = 0

        public var invalidTotal: UInt64 { invalid.values.reduce(0, +) }
    }

    public private(set) var counters = Counters()
    private let socket: Socket
    private let configuration: Configuration
    private var tracker = SequenceTracker()
    private var reportedRestarts: Set<UInt64> = []
    private var publishers: [Symbol: (lastSeen: Int64, silent: Bool)] = [:]
    private let startedAt: Int64
    private var reportedNoHeartbeat = false
    private var pending: [BusEvent] = []
    private var pendingIndex = 0
    private let timeoutNanoseconds: Int64
    /// How often heartbeats are checked while idle: a quarter of the timeout, at least 50 ms.
    private let checkIntervalMilliseconds: Int64
    /// Messages until the clock is read again; the first check waits until the queue is drained
    /// (a receive times out) or 1024 messages, so heartbeats queued since `init` count first.
    private var messagesUntilClockCheck = 1024
    private var receiveTimeout: Int32 = -1
    private let replayClients: [ReplayClient]
    /// The replay in progress, if any.
    private var round: Round?
    /// After a late start: the journal's head when its replay ended (ns UTC). A topic first seen
    /// live past its first record lost those to ZeroMQ's slow joiner after that head.
    private var lateStartHead: Int64?
    /// Epochs in the order this subscriber met them (live, or in a replay's journal order): a
    /// replayed record of an epoch its topic has left is stale, not a restart backwards.
    private var epochOrder: [UInt32: Int] = [:]

    /// A replay that fills what the live stream lost, from each replay endpoint in turn. Live
    /// messages wait in the socket meanwhile; the one that showed the loss is held.
    private struct Round {
        var request: ReplayRequest
        /// The endpoint being replayed, and whether its request was sent.
        var endpoint = 0
        var started = false
        var held: [UInt8]?
        /// Rounds already run for the held message (the journal may lag the bus by milliseconds).
        var attempt = 0
        /// When the request may go (monotonic ns): a repeated round waits for the journal.
        var startAt: Int64 = 0
        /// The journal's head as the replay's END said (ns UTC).
        var headTime: Int64 = 0
    }

    /// Connects to every endpoint and subscribes to the filters and to heartbeats.
    public init(context: ZMQContext, configuration: Configuration) throws {
        self.configuration = configuration
        socket = try Socket(context, .sub)
        try socket.setReceiveHighWaterMark(configuration.receiveHighWaterMark)
        let filters = configuration.filters.isEmpty ? [try! TopicFilter("")] : configuration.filters
        for filter in filters { try socket.subscribe(filter.prefix) }
        if !filters.contains(where: { $0.prefix.isEmpty }) { try socket.subscribe("H.") }
        for text in configuration.endpoints {
            let endpoint = Endpoint(parsing: text, default: .connect)
            do {
                try socket.open(endpoint, security: configuration.security)
            } catch let error as ZMQError {
                throw endpoint.action == .bind
                    ? BusError.bindFailed(endpoint.address, error.message) : BusError.connectFailed(endpoint.address, error.message)
            }
        }
        replayClients = try (configuration.recovery?.endpoints ?? []).map {
            try ReplayClient(context: context, endpoint: $0, security: configuration.security, timeout: configuration.recovery?.timeout ?? .seconds(30))
        }
        if let start = configuration.recovery?.start {
            round = Round(request: ReplayRequest(filters: configuration.filters, start: start))
        }
        startedAt = MonotonicClock.nanoseconds()
        timeoutNanoseconds = configuration.heartbeatTimeout.nanoseconds
        checkIntervalMilliseconds = max(50, timeoutNanoseconds / 4_000_000)
    }

    /// The next event, waiting up to about `timeout` (nil: forever, checking heartbeats
    /// meanwhile). Returns nil when the timeout passes with nothing to report.
    ///
    /// The wait is a blocking receive with a receive timeout of at most the heartbeat-check tick,
    /// so an arriving message costs no clock read; the clock is read on timeouts and every 1024
    /// messages, to check heartbeats.
    public func next(timeout: Duration? = nil) throws -> BusEvent? {
        if let event = takePending() { return event }
        if round != nil {
            let deadline = timeout.map { MonotonicClock.nanoseconds() + $0.nanoseconds }
            while round != nil {
                // Short waits, so that the caller's timeout (and its stop checks) hold.
                let left = deadline.map { ($0 - MonotonicClock.nanoseconds()) / 1_000_000 } ?? 100
                try replayStep(wait: .milliseconds(min(100, max(1, left))))
                if let event = takePending() { return event }
                if let deadline, MonotonicClock.nanoseconds() >= deadline { return nil }
            }
        }
        let limit = timeout.map { max(0, $0.nanoseconds / 1_000_000) }
        let wait = Int32(clamping: min(limit ?? checkIntervalMilliseconds, checkIntervalMilliseconds))
        if wait != receiveTimeout {
            try socket.setReceiveTimeout(milliseconds: wait)
            receiveTimeout = wait
        }
        var waited: Int64 = 0
        // Set at the first message that reports nothing (a heartbeat, a filtered or stale
        // record): such messages must not hold the call past its timeout.
        var quietDeadline: Int64?
        while true {
            if messagesUntilClockCheck == 0 {
                messagesUntilClockCheck = 1024
                checkHeartbeats(now: MonotonicClock.nanoseconds())
                if let event = takePending() { return event }
            }
            var event: BusEvent?
            if try socket.receiveFrame({ event = handle($0, recover: !replayClients.isEmpty) }) {
                messagesUntilClockCheck -= 1
                if let event { return event }
                if round != nil { return try next(timeout: timeout) }
                if let limit {
                    let now = MonotonicClock.nanoseconds()
                    if let quietDeadline, now >= quietDeadline { return takePending() }
                    quietDeadline = quietDeadline ?? now + (limit - waited) * 1_000_000
                }
                continue
            }
            messagesUntilClockCheck = 0
            waited += Int64(wait)
            if let limit, waited >= limit {
                checkHeartbeats(now: MonotonicClock.nanoseconds())
                return takePending()
            }
        }
    }

    private func takePending() -> BusEvent? {
        guard pendingIndex < pending.count else { return nil }
        let event = pending[pendingIndex]
        pendingIndex += 1
        if pendingIndex == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingIndex = 0
        }
        return event
    }

    /// Decodes one message; returns its first event (nil if it causes none) and queues the rest.
    /// With `recover`, a gap or a restart starts a replay (and holds the message) instead of
    /// being reported.
    private func handle(_ message: UnsafeRawBufferPointer, recover: Bool, attempt: Int = 0) -> BusEvent? {
        var topic = Topic(kind: .trade, symbol: Symbol())
        var header = RecordHeader(tsEvent: 0, tsRecv: 0, symbol: Symbol())
        let record: Record
        do {
            record = try BusMessage.decode(message, topic: &topic, header: &header)
        } catch {
            counters.invalid[error.category, default: 0] += 1
            return .invalid(error)
        }
        var first: BusEvent?
        if topic.kind == .heartbeat { first = noteHeartbeat(from: header.symbol) }
        // Heartbeats are not journaled: their losses are only reported.
        let recover = recover && topic.kind != .heartbeat
        let known = recover ? tracker.state(of: topic) : (seen: true, tsRecv: 0)
        switch tracker.check(topic, header) {
        case .inOrder where recover && !known.seen && header.sequence > 1 && attempt == 0 && lateStartHead != nil:
            tracker.forget(topic)
            startRound(after: header.epoch, notBefore: lateStartHead ?? 0, holding: message, attempt: attempt)
            return first
        case .inOrder:
            break
        case .gap(let expected, _) where recover:
            tracker.reset(topic, epoch: header.epoch, sequence: expected - 1, tsRecv: known.tsRecv)
            startRound(after: header.epoch, notBefore: known.tsRecv, holding: message, attempt: attempt)
            return first
        case .restart(let previous, let last, let epoch) where isOlder(epoch, than: previous):
            tracker.reset(topic, epoch: previous, sequence: last, tsRecv: known.tsRecv)
            counters.stale += 1
            return first
        case .restart(let previous, let last, let epoch) where recover:
            noteEpochs(previous, epoch)
            tracker.reset(topic, epoch: previous, sequence: last, tsRecv: known.tsRecv)
            startRound(after: previous, notBefore: known.tsRecv, holding: message, attempt: attempt)
            return first
        case .gap(let expected, let received):
            counters.gaps += 1
            counters.lost += received - expected
            report(.gap(topic: topic, expected: expected, received: received, lost: received - expected), &first)
        case .restart(let previous, _, let epoch):
            noteEpochs(previous, epoch)
            if reportedRestarts.insert(UInt64(previous) << 32 | UInt64(epoch)).inserted {
                counters.restarts += 1
                report(.restart(topic: topic, previousEpoch: previous, epoch: epoch), &first)
            }
        case .stale:
            counters.stale += 1
            return first
        }
        guard wanted(message) else { return first }
        counters.records += 1
        guard let first else { return .record(record) }
        pending.append(.record(record))
        return first
    }

    /// Starts a replay of everything after the positions of `epoch`, holding the live message that
    /// showed the loss until it ends.
    private func startRound(after epoch: UInt32, notBefore: Int64, holding message: UnsafeRawBufferPointer, attempt: Int) {
        // Nothing missing was received more than a second before the last record in order.
        let start = JournalStart.after(epoch: epoch, sequences: tracker.sequences(in: epoch), notBefore: max(0, notBefore - 1_000_000_000))
        // A repeat waits 10 ms, then 100 ms: the journal writes within milliseconds of the bus.
        let delay: Int64 = attempt == 0 ? 0 : attempt == 1 ? 10_000_000 : 100_000_000
        round = Round(request: ReplayRequest(filters: configuration.filters, start: start), held: Array(message), attempt: attempt + 1,
                      startAt: MonotonicClock.nanoseconds() + delay)
    }

    /// Records the order in which epochs were met: `previous` before `epoch`.
    private func noteEpochs(_ previous: UInt32, _ epoch: UInt32) {
        if epochOrder[previous] == nil { epochOrder[previous] = epochOrder.count }
        if epochOrder[epoch] == nil { epochOrder[epoch] = epochOrder.count }
    }

    /// Whether `epoch` was met before `other` (so a record of it is from the past).
    private func isOlder(_ epoch: UInt32, than other: UInt32) -> Bool {
        guard let a = epochOrder[epoch], let b = epochOrder[other] else { return false }
        return a < b
    }

    /// Handles the next reply of the round's replay; ends the round after the last endpoint.
    private func replayStep(wait: Duration) throws {
        guard var current = round else { return }
        guard current.endpoint < replayClients.count else { return endRound(current) }
        let client = replayClients[current.endpoint]
        do {
            if !current.started {
                let early = current.startAt - MonotonicClock.nanoseconds()
                if early > 0 {
                    Thread.sleep(forTimeInterval: Double(min(early, wait.nanoseconds)) / 1e9)
                    return
                }
                try client.start(current.request)
                current.started = true
                round = current
            }
            var head: Int64 = 0
            let more = try client.receive(waitingAtMost: wait) { item in
                if case .end(let end) = item { head = end.headTime }
                guard case .message(let bytes) = item else { return }
                let (records, mark) = (counters.records, pending.count)
                // `handle` queues what follows its first event: the first goes before them.
                if let event = handle(bytes, recover: false) { pending.insert(event, at: mark) }
                counters.recovered += counters.records - records
            }
            current.headTime = max(current.headTime, head)
            round = current
            if more { return }
        } catch let error as ReplayError {
            // An epoch another publisher's journal does not hold is not a failure.
            if case .refused(.unknownEpoch, _) = error {} else { counters.replayFailures += 1 }
        }
        current.endpoint += 1
        current.started = false
        round = current
    }

    /// Ends a round: the held message goes through again (a second round if the journal had not
    /// caught up, then its loss is reported), and heartbeats count from now.
    private func endRound(_ finished: Round) {
        round = nil
        let now = MonotonicClock.nanoseconds()
        for name in publishers.keys { publishers[name]?.lastSeen = now }
        guard let held = finished.held else {
            // A late start's replay: topics first seen live from now on may have lost their start.
            lateStartHead = finished.headTime > 0 ? finished.headTime : WallClock.nanoseconds()
            return
        }
        let mark = pending.count
        // `handle` queues what follows its first event: the first goes before them.
        let event = held.withUnsafeBytes { handle($0, recover: finished.attempt < 3, attempt: finished.attempt) }
        if let event { pending.insert(event, at: mark) }
    }

    /// The first event of a message is returned, the others queued after it (a heartbeat can
    /// both end a silence and show a gap).
    private func report(_ event: BusEvent, _ first: inout BusEvent?) {
        if first == nil { first = event } else { pending.append(event) }
    }

    private func wanted(_ message: UnsafeRawBufferPointer) -> Bool {
        configuration.filters.isEmpty || configuration.filters.contains { $0.matches(message) }
    }

    private func noteHeartbeat(from name: Symbol) -> BusEvent? {
        counters.heartbeats += 1
        let wasSilent = publishers[name]?.silent ?? false
        publishers[name] = (MonotonicClock.nanoseconds(), false)
        return wasSilent ? .resumed(publisher: name.description) : nil
    }

    /// Reports publishers whose heartbeats stopped, and a bus with no heartbeat at all.
    private func checkHeartbeats(now: Int64) {
        if publishers.isEmpty {
            if !reportedNoHeartbeat && now - startedAt > timeoutNanoseconds {
                reportedNoHeartbeat = true
                pending.append(.silent(publisher: nil, silentFor: .nanoseconds(now - startedAt)))
            }
            return
        }
        for (name, state) in publishers where !state.silent && now - state.lastSeen > timeoutNanoseconds {
            publishers[name] = (state.lastSeen, true)
            pending.append(.silent(publisher: name.description, silentFor: .nanoseconds(now - state.lastSeen)))
        }
    }
}
