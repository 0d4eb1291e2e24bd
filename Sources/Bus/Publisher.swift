import Journal
import TickBusCore
import ZeroMQ

/// Publishes records on the bus through an XPUB socket.
///
/// The publisher stamps each record with its epoch and the next sequence number of the record's
/// topic, and sends topic + space + record as one frame without ever blocking: a subscriber
/// whose queue is full (its high-water mark) loses messages in libzmq, and only that subscriber,
/// which sees the loss as a sequence gap. Because the socket is an XPUB, the publisher sees which
/// prefixes subscribers hold. Like its socket, a publisher belongs to one thread; see
/// ``PublisherService`` to publish from any thread.
public final class Publisher {
    public struct Configuration: Sendable {
        /// The process name: heartbeats go out as `H.<name>`.
        public var name: String
        /// Endpoints to bind, e.g. `tcp://127.0.0.1:7700`; `>tcp://host:port` connects instead
        /// (to a `tickbus proxy` frontend), `@tcp://…` binds explicitly.
        public var endpoints: [String]
        /// Messages queued per subscriber before libzmq drops that subscriber's messages.
        public var sendHighWaterMark: Int32
        /// Time between heartbeats.
        public var heartbeatInterval: Duration
        /// The epoch; random when nil. Tests set it to simulate restarts.
        public var epoch: UInt32?
        /// Wait for the slowest subscriber instead of dropping at its high-water mark
        /// (`XPUB_NODROP`). For replays and benchmarks only: a live stream must never wait.
        public var lossless: Bool = false
        /// CURVE for every endpoint (docs/security.md); nil: plain ZMTP.
        public var security: CurveSecurity?
        /// Where every message published (heartbeats aside) is kept (docs/journal.md); nil: nowhere.
        public var journal: JournalWriter.Configuration?
        /// Endpoints on which ``PublisherService`` serves the journal to replay clients
        /// (docs/replay.md); none without a journal.
        public var replayEndpoints: ReplayEndpoints = []

        public init(
            name: String, endpoints: [String], sendHighWaterMark: Int32 = 100_000,
            heartbeatInterval: Duration = .seconds(1), epoch: UInt32? = nil, lossless: Bool = false,
            security: CurveSecurity? = nil, journal: JournalWriter.Configuration? = nil, replayEndpoints: ReplayEndpoints = []
        ) {
            self.journal = journal
            self.replayEndpoints = replayEndpoints
            self.lossless = lossless
            self.security = security
            self.name = name
            self.endpoints = endpoints
            self.sendHighWaterMark = sendHighWaterMark
            self.heartbeatInterval = heartbeatInterval
            self.epoch = epoch
        }
    }

    /// Counters reported in heartbeats and status replies.
    public struct Counters: Sendable, Equatable {
        /// Records sent, heartbeats excluded.
        public var published: UInt64 = 0
        /// Records the socket refused.
        public var dropped: UInt64 = 0
        public var heartbeats: UInt64 = 0
    }

    public let epoch: UInt32
    public let name: Symbol
    /// The endpoints actually bound (with real ports for `tcp://host:*`), then those connected.
    public private(set) var endpoints: [String] = []
    public private(set) var counters = Counters()
    /// Subscription prefixes currently held by at least one subscriber.
    public private(set) var subscriptions: Set<[UInt8]> = []
    /// Called on this thread when a prefix gains its first or loses its last subscriber.
    public var onSubscriptionChange: ((_ prefix: [UInt8], _ subscribed: Bool) -> Void)?
    /// The journal of what it publishes, if it keeps one.
    public let journal: JournalWriter?
    private let journalAppender: JournalAppender?

    private let socket: Socket
    private let startedAt: Int64
    private let heartbeatNanoseconds: Int64
    private var nextHeartbeat: Int64
    private var sequences = TopicTable(empty: UInt64(0))
    private let buffer: UnsafeMutableRawBufferPointer
    private let sendFlags: MessageFlags

    public init(context: ZMQContext, configuration: Configuration) throws {
        do {
            name = try Symbol(configuration.name)
        } catch {
            throw BusError.invalidName(configuration.name, error.description)
        }
        // The name is the heartbeat's symbol, which the wire format requires to be non-empty.
        guard !name.isEmpty else { throw BusError.invalidName(configuration.name, "empty") }
        epoch = configuration.epoch ?? Publisher.randomEpoch()
        socket = try Socket(context, .xpub)
        try socket.setSendHighWaterMark(configuration.sendHighWaterMark)
        try socket.setXPubNoDrop(configuration.lossless)
        sendFlags = configuration.lossless ? [] : .dontWait
        for text in configuration.endpoints {
            let endpoint = Endpoint(parsing: text, default: .bind)
            do {
                try socket.open(endpoint, security: configuration.security)
            } catch let error as ZMQError {
                throw endpoint.action == .bind
                    ? BusError.bindFailed(endpoint.address, error.message) : BusError.connectFailed(endpoint.address, error.message)
            }
            endpoints.append(endpoint.action == .bind ? try socket.lastEndpoint : endpoint.address)
        }
        let epoch = self.epoch
        do {
            journal = try configuration.journal.map { try JournalWriter(configuration: $0, publisher: configuration.name, epoch: epoch) }
        } catch {
            throw BusError.journalFailed("\(error)")
        }
        journalAppender = journal?.appender()
        startedAt = WallClock.nanoseconds()
        heartbeatNanoseconds = configuration.heartbeatInterval.nanoseconds
        nextHeartbeat = MonotonicClock.nanoseconds()
        buffer = .allocate(byteCount: BusMessage.maxSize, alignment: 8)
    }

    deinit { buffer.deallocate() }

    /// Stamps `record` with the epoch and its topic's next sequence number and sends it.
    /// Never blocks unless the publisher is ``Configuration/lossless``. Returns the sequence number.
    @discardableResult
    public func publish(_ record: Record) throws -> UInt64 {
        let sequence = nextSequence(Topic(of: record))
        let size = BusMessage.encode(record, into: buffer, stamp: (epoch, sequence))
        journalAppender?.append(UnsafeRawBufferPointer(rebasing: buffer[..<size]))
        if try socket.send(UnsafeRawBufferPointer(rebasing: buffer[..<size]), flags: sendFlags) {
            counters.published += 1
        } else {
            counters.dropped += 1
        }
        return sequence
    }

    private func nextSequence(_ topic: Topic) -> UInt64 {
        sequences.update(topic) { sequence in
            sequence += 1
            return sequence
        }
    }

    /// Hands the journal's partial block to its writer once it is 2 ms old (full blocks go at
    /// once): call it before waiting for input. Returns the milliseconds until the block is due
    /// (wait no longer), or nil when none waits.
    public func flushJournal() -> Int? {
        journalAppender?.flush(olderThan: 2_000_000).map { Int(($0 + 999_999) / 1_000_000) }
    }

    /// Flushes and closes the journal (its last file synced and ended); call it last.
    public func closeJournal() {
        journalAppender?.flush()
        journal?.stop()
    }

    /// Reads pending subscription messages and sends a heartbeat if one is due.
    /// Call it from the owning thread at least every heartbeat interval.
    public func service() throws {
        try readSubscriptions()
        let now = MonotonicClock.nanoseconds()
        if now >= nextHeartbeat {
            try sendHeartbeat()
            nextHeartbeat = now + heartbeatNanoseconds
        }
    }

    /// Milliseconds until the next heartbeat is due (0 if overdue).
    public var millisecondsUntilHeartbeat: Int {
        max(0, Int((nextHeartbeat - MonotonicClock.nanoseconds()) / 1_000_000))
    }

    /// Sends a heartbeat now.
    public func sendHeartbeat() throws {
        let now = WallClock.nanoseconds()
        let topic = Topic(kind: .heartbeat, symbol: name)
        let header = RecordHeader(
            epoch: epoch, sequence: nextSequence(topic), tsEvent: now, tsRecv: now, symbol: name)
        let heartbeat = Heartbeat(
            header: header, published: counters.published, dropped: counters.dropped, startedAt: startedAt,
            topics: UInt32(clamping: sequences.count - 1), subscriptions: UInt32(clamping: subscriptions.count),
            intervalMilliseconds: UInt32(clamping: heartbeatNanoseconds / 1_000_000))
        let size = BusMessage.encode(.heartbeat(heartbeat), into: buffer)
        if try socket.send(UnsafeRawBufferPointer(rebasing: buffer[..<size]), flags: .dontWait) {
            counters.heartbeats += 1
        }
    }

    /// Reads XPUB subscription messages (`0x01`+prefix subscribes, `0x00`+prefix unsubscribes).
    private func readSubscriptions() throws {
        while let frame = try socket.receiveBytes(flags: .dontWait) {
            guard let first = frame.first, first <= 1 else { continue }
            let prefix = Array(frame.dropFirst())
            if first == 1 {
                if subscriptions.insert(prefix).inserted { onSubscriptionChange?(prefix, true) }
            } else if subscriptions.remove(prefix) != nil {
                onSubscriptionChange?(prefix, false)
            }
        }
    }

    /// Waits until some subscriber holds a prefix that matches `topic` (libzmq's slow-joiner
    /// problem: messages sent before a subscription arrives are lost). Returns `false` on timeout.
    public func waitForSubscriber(matching topic: String, timeout: Duration) throws -> Bool {
        let bytes = Array(topic.utf8) + [0x20]
        let deadline = MonotonicClock.nanoseconds() + timeout.nanoseconds
        let poller = Poller()
        poller.add(socket)
        while true {
            try readSubscriptions()
            if subscriptions.contains(where: { bytes.starts(with: $0) }) { return true }
            let left = deadline - MonotonicClock.nanoseconds()
            if left <= 0 { return false }
            try poller.poll(timeoutMilliseconds: Int(min(left / 1_000_000 + 1, 100)))
        }
    }

    /// The socket, for polling in the owning thread's loop.
    var pollable: Socket { socket }

    private static func randomEpoch() -> UInt32 {
        var generator = SystemRandomNumberGenerator()
        return UInt32.random(in: 1...UInt32.max, using: &generator)
    }
}

/// Where a publisher serves its journal to replay clients (docs/replay.md).
public struct ReplayEndpoints: Sendable, Equatable, ExpressibleByArrayLiteral {
    public var endpoints: [String]
    /// A bind failure is an error; when false (an endpoint chosen by default, beside the bus) the
    /// publisher goes on without serving replays and says why (``PublisherService/replayFailure``).
    public var required: Bool

    public init(_ endpoints: [String], required: Bool = true) {
        self.endpoints = endpoints
        self.required = required
    }

    public init(arrayLiteral endpoints: String...) {
        self.init(endpoints)
    }
}

/// Errors from bus set-up.
public enum BusError: Error, Sendable, CustomStringConvertible {
    case invalidName(String, String)
    case bindFailed(String, String)
    case connectFailed(String, String)
    case invalidTopic(String, String)
    /// The publisher's socket failed and its thread ended: the process must restart.
    case publisherFailed(String)
    /// The journal could not be set up (its directory missing and not creatable, or not writable).
    case journalFailed(String)

    public var description: String {
        switch self {
        case .invalidName(let n, let why): "invalid publisher name \"\(n)\": \(why)"
        case .bindFailed(let e, let why): "cannot bind \(e): \(why)"
        case .connectFailed(let e, let why): "cannot connect to \(e): \(why)"
        case .invalidTopic(let t, let why): "invalid topic \"\(t)\": \(why)"
        case .publisherFailed(let why): "the bus publisher stopped: \(why)"
        case .journalFailed(let why): "cannot journal: \(why)"
        }
    }
}
