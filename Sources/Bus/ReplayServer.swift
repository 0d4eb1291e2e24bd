import Journal
import Synchronization
import Telemetry
import TickBusCore
import ZeroMQ

/// Serves a publisher's journal to replay clients (docs/replay.md): a ROUTER socket on a thread of
/// its own, apart from the live bus. Each client's replay is a ``JournalCursor``; the server sends
/// a batch only against the client's credit, one item per replay in turn, so a big replay neither
/// floods a slow client nor holds up the others.
public final class ReplayServer: Sendable {
    public struct Configuration: Sendable {
        /// Endpoints to bind (`tcp://127.0.0.1:7710`).
        public var endpoints: [String]
        /// The journal directory to serve.
        public var directory: String
        /// CURVE for every endpoint (docs/security.md); nil: plain ZMTP.
        public var security: CurveSecurity?
        /// Replays served at once; more are refused with ``ReplayFailure/busy``.
        public var maxReplays: Int
        /// A replay whose client sends no credit for this long is ended.
        public var idleTimeout: Duration

        public init(endpoints: [String], directory: String, security: CurveSecurity? = nil,
                    maxReplays: Int = 64, idleTimeout: Duration = .seconds(60)) {
            self.endpoints = endpoints
            self.directory = directory
            self.security = security
            self.maxReplays = maxReplays
            self.idleTimeout = idleTimeout
        }
    }

    /// What the server has done.
    public struct Counters: Sendable, Equatable {
        /// Replays started.
        public var replays: UInt64 = 0
        /// Replays that reached the journal's head.
        public var completed: UInt64 = 0
        /// Requests refused (unreadable, unknown epoch, busy) and replays ended on a timeout.
        public var refused: UInt64 = 0
        public var messages: UInt64 = 0
        public var bytes: UInt64 = 0
        /// Replays in progress.
        public var active = 0
    }

    /// The endpoints actually bound.
    public var endpoints: [String] { thread.opened }
    private let counters = Tally()
    private let thread: SocketThread<[String]>

    /// Binds the endpoints and starts serving.
    public init(context: ZMQContext, configuration: Configuration) throws {
        let counters = counters
        thread = try SocketThread(name: "replay") {
            let socket = try Socket(context, .router)
            try socket.setMaxMessageSize(16 << 20)
            try socket.setRouterMandatory(true)
            try socket.setSendHighWaterMark(Int32(2 * Self.maxCredit + 16))
            try socket.setLinger(milliseconds: 0)
            var bound: [String] = []
            for text in configuration.endpoints {
                let endpoint = Endpoint(parsing: text, default: .bind)
                do {
                    try socket.open(endpoint, security: configuration.security)
                } catch let error as ZMQError {
                    throw BusError.bindFailed(endpoint.address, error.message)
                }
                bound.append(endpoint.action == .bind ? try socket.lastEndpoint : endpoint.address)
            }
            return (socket, bound)
        } serve: { socket, isStopping in
            var loop = ServeLoop(socket: socket, configuration: configuration, counters: counters)
            loop.run(isStopping: isStopping)
        }
    }

    deinit { stop() }

    public var snapshot: Counters { counters.value.withLock { $0 } }

    /// Stops serving (within about 100 ms). Idempotent.
    public func stop() { thread.stop() }

    /// Credit a replay can hold at once; more is ignored.
    static let maxCredit: UInt32 = 1024

    /// Exports `tickbus_replay_*`.
    public func export(to metrics: SnapshotMetrics) {
        let c = snapshot
        metrics.count("tickbus_replay_requests_total", total: c.replays)
        metrics.count("tickbus_replay_completed_total", total: c.completed)
        metrics.count("tickbus_replay_refused_total", total: c.refused)
        metrics.count("tickbus_replay_messages_total", total: c.messages)
        metrics.count("tickbus_replay_bytes_total", total: c.bytes)
        metrics.gauge("tickbus_replay_active", Double(c.active))
    }
}

/// The counters, shared by the server thread and readers.
private final class Tally: Sendable {
    let value = Mutex(ReplayServer.Counters())

    func update(_ body: (inout ReplayServer.Counters) -> Void) { value.withLock { body(&$0) } }
}

/// One client's replay.
private final class Replay {
    let client: [UInt8]
    let cursor: JournalCursor
    var credit: UInt32
    var lastHeard: Int64
    var messages: UInt64 = 0

    init(client: [UInt8], cursor: JournalCursor, credit: UInt32) {
        self.client = client
        self.cursor = cursor
        self.credit = min(credit, ReplayServer.maxCredit)
        lastHeard = MonotonicClock.nanoseconds()
    }
}

/// The server thread's state and loop.
private struct ServeLoop {
    let socket: Socket
    let configuration: ReplayServer.Configuration
    let counters: Tally
    /// Replays in the order they are served.
    var replays: [Replay] = []

    init(socket: Socket, configuration: ReplayServer.Configuration, counters: Tally) {
        self.socket = socket
        self.configuration = configuration
        self.counters = counters
    }

    mutating func run(isStopping: () -> Bool) {
        let poller = Poller()
        poller.add(socket)
        while !isStopping() {
            do {
                let ready = replays.contains { $0.credit > 0 }
                _ = try poller.poll(timeoutMilliseconds: ready ? 0 : 100)
                while let frames = try socket.receiveMultipart(flags: .dontWait) { receive(frames) }
                var index = 0
                while index < replays.count {
                    if serve(replays[index]) { index += 1 } else { end(at: index) }
                }
                expireIdle()
                counters.update { $0.active = replays.count }
            } catch let error as ZMQError where error == .terminated {
                return
            } catch {
                // Only the socket itself fails here: poll or receive on a closed context.
                return
            }
        }
    }

    /// Handles one client message: `[client, command, body]`.
    private mutating func receive(_ frames: [[UInt8]]) {
        guard frames.count == 3, let command = frames[1].withUnsafeBytes({ ReplayCommand(frame: $0) }) else {
            if frames.count >= 2 { refuse(frames[0], .badRequest, "a replay message is a command and a body") }
            return
        }
        let client = frames[0]
        let existing = replays.firstIndex { $0.client == client }
        switch command {
        case .replay:
            if let existing { end(at: existing) }
            start(client, frames[2])
        case .credit:
            guard let existing, frames[2].count == 4 else { return }
            let more = frames[2].withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
            let replay = replays[existing]
            replay.credit = UInt32(min(UInt64(replay.credit) + UInt64(more), UInt64(ReplayServer.maxCredit)))
            replay.lastHeard = MonotonicClock.nanoseconds()
        case .cancel:
            if let existing { end(at: existing) }
        case .batch, .hole, .end, .error:
            refuse(client, .badRequest, "\(command.rawValue) is a server's message")
        }
    }

    private mutating func start(_ client: [UInt8], _ body: [UInt8]) {
        let request: ReplayRequest
        do {
            request = try body.withUnsafeBytes { b throws(ReplayProtocolError) in try ReplayRequest(decoding: b) }
        } catch {
            return refuse(client, .badRequest, "\(error)")
        }
        guard replays.count < configuration.maxReplays else {
            return refuse(client, .busy, "\(configuration.maxReplays) replays in progress; try again later")
        }
        do {
            let cursor = try JournalCursor(directory: configuration.directory, start: request.start, filters: request.filters)
            replays.append(Replay(client: client, cursor: cursor, credit: request.credit))
            counters.update { $0.replays += 1 }
        } catch {
            refuse(client, .unknownEpoch, error.description)
        }
    }

    /// Sends a replay's next item if it has credit; false when the replay is over.
    private func serve(_ replay: Replay) -> Bool {
        guard replay.credit > 0 else { return true }
        do {
            switch replay.cursor.next() {
            case .messages(let bytes, let count):
                guard try send(replay.client, .batch, bytes) else { return false }
                replay.credit -= 1
                replay.messages += UInt64(count)
                counters.update {
                    $0.messages += UInt64(count)
                    $0.bytes += UInt64(bytes.count)
                }
            case .hole(let epoch, let reason, let ranges):
                let body = ReplayHole(epoch: epoch, reason: reason, ranges: ranges).encoded()
                guard try body.withUnsafeBytes({ try send(replay.client, .hole, $0) }) else { return false }
                replay.credit -= 1
            case .damaged, .scanning:
                // A damaged file shows as a gap to the client; the cursor goes on with the next.
                break
            case .head:
                // Counted first: a client that has its END sees it counted.
                counters.update { $0.completed += 1 }
                let body = ReplayEnd(messages: replay.messages, headTime: replay.cursor.lastTime).encoded()
                _ = try body.withUnsafeBytes { try send(replay.client, .end, $0) }
                return false
            }
            return true
        } catch {
            // The client is gone (EHOSTUNREACH).
            return false
        }
    }

    /// Sends `[client, command, body]`; false when the client's queue is full (it sent credit it
    /// does not read).
    private func send(_ client: [UInt8], _ command: ReplayCommand, _ body: UnsafeRawBufferPointer) throws -> Bool {
        guard try socket.send(client, flags: [.sendMore, .dontWait]) else { return false }
        try socket.send(command.frame, flags: [.sendMore, .dontWait])
        try socket.send(body, flags: .dontWait)
        return true
    }

    private func refuse(_ client: [UInt8], _ failure: ReplayFailure, _ text: String) {
        counters.update { $0.refused += 1 }
        _ = try? ReplayRefusal(failure, text).encoded().withUnsafeBytes { try send(client, .error, $0) }
    }

    private mutating func end(at index: Int) {
        replays.remove(at: index)
    }

    /// Ends replays whose client has held no credit for the idle timeout.
    private mutating func expireIdle() {
        let now = MonotonicClock.nanoseconds()
        let limit = configuration.idleTimeout.nanoseconds
        for (index, replay) in replays.enumerated().reversed() where replay.credit == 0 && now - replay.lastHeard > limit {
            refuse(replay.client, .timedOut, "no credit for \(limit / 1_000_000_000) s")
            end(at: index)
        }
    }
}
