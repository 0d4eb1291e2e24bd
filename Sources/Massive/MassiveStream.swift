import Logging
import NIOCore
import NIOPosix
import Synchronization
import TickBusCore
import WSClient

/// What happens to a stream's connection, in order; ingest turns these into `S.ingest` records.
public enum StreamEvent: Sendable, Equatable {
    case connecting(url: String, attempt: Int)
    /// The server said `connected`; the key is being sent.
    case connected
    case authenticated
    /// One acknowledged subscription (`subscribed to: T.AAPL`).
    case subscribed(String)
    /// Massive refused one subscription (`not authorized`, limits); the connection stays up.
    case subscriptionError(String)
    /// A status that is not part of the normal flow: `max_connections`, `slow_consumer`,
    /// `force_disconnect`, `auth_timeout`, or unknown. The server usually closes afterwards.
    case upstreamStatus(MassiveStatus)
    /// The connection ended (`at`: ns since the epoch).
    case disconnected(reason: String, at: Int64)
    /// Authenticated again after a disconnection: nothing was received between `gapStart` and
    /// `gapEnd` (ns since the epoch).
    case resumed(gapStart: Int64, gapEnd: Int64, attempt: Int)
    /// The next attempt starts after `delay`.
    case retrying(after: Duration, attempt: Int)
}

/// Receives a stream's output. Called on the stream's read task: return quickly.
public protocol MassiveStreamHandler: Sendable {
    func stream(_ event: StreamEvent)
    /// The records of one frame, in frame order (reused buffer: copy what you keep).
    func stream(records: [Record])
}

/// Errors that end a stream for good.
public enum MassiveStreamError: Error, Equatable, CustomStringConvertible {
    /// Massive refused the key (`authentication failed`) or the plan has no WebSocket access.
    case authenticationFailed(String)
    /// Gave up after the configured number of attempts.
    case gaveUp(attempts: Int, lastReason: String)

    public var description: String {
        switch self {
        case .authenticationFailed(let message):
            message.lowercased().contains("plan")
                ? "Massive accepted the key but the plan has no WebSocket access for this market: \(message)"
                : "Massive refused the API key (\(message)); check MASSIVE_API_KEY"
        case .gaveUp(let attempts, let reason): "gave up after \(attempts) connection attempts; last: \(reason)"
        }
    }
}

/// How a stream reconnects: exponential backoff with jitter, forever unless `maxAttempts`.
public struct ReconnectPolicy: Sendable {
    public var initialDelay: Duration
    public var maxDelay: Duration
    /// Each delay is randomly shortened by up to this fraction, so many clients spread out.
    public var jitter: Double
    /// Attempts in a row before giving up; nil retries forever.
    public var maxAttempts: Int?
    /// After `max_connections` Massive closed this connection for a newer one on the same
    /// account: wait at least this long, so two processes do not evict each other in a loop.
    public var maxConnectionsDelay: Duration

    public init(
        initialDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(30), jitter: Double = 0.2,
        maxAttempts: Int? = nil, maxConnectionsDelay: Duration = .seconds(60)
    ) {
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.jitter = jitter
        self.maxAttempts = maxAttempts
        self.maxConnectionsDelay = maxConnectionsDelay
    }

    /// The delay before attempt `attempt` (1 for the first retry).
    public func delay(attempt: Int) -> Duration {
        let base = initialDelay.nanoseconds.saturatingShifted(attempt - 1)
        let capped = min(base, maxDelay.nanoseconds)
        let shortened = Double(capped) * (1 - jitter * Double.random(in: 0...1))
        return .nanoseconds(Int64(shortened))
    }
}

extension Int64 {
    fileprivate func saturatingShifted(_ bits: Int) -> Int64 {
        bits >= 62 || self > (Int64.max >> bits) ? .max : self << bits
    }
}

/// A Massive WebSocket stream: connects, authenticates, subscribes, decodes every frame on its
/// read task and hands the records on; reconnects with backoff and resubscribes after any
/// disconnection, reporting the exact window it missed. Only a refused key ends it.
public final class MassiveStream: Sendable {
    public struct Configuration: Sendable {
        public var endpoint: MassiveEndpoint
        public var apiKey: String
        /// Massive subscription params at start: `T.AAPL`, `A.*`, ... (see ``setSubscriptions(_:)``).
        public var subscriptions: [String]
        public var reconnect: ReconnectPolicy
        /// WebSocket ping period; a dead connection is noticed within about two of them.
        public var pingInterval: Duration
        /// Messages (a frame, or the frames of a fragmented message together) larger than this
        /// are refused: the connection is closed with 1009, counted as `message_too_large`, and
        /// made again.
        public var maxFrameSize: Int
        /// The longest wait for each step of the handshake: TCP connect and HTTP upgrade, the
        /// `connected` greeting, the reply to `auth`. A step that takes longer ends the attempt
        /// (reported as the reason) and the usual reconnect with backoff follows.
        public var stepTimeout: Duration

        public init(
            endpoint: MassiveEndpoint, apiKey: String, subscriptions: [String], reconnect: ReconnectPolicy = .init(),
            pingInterval: Duration = .seconds(20), maxFrameSize: Int = 16 << 20, stepTimeout: Duration = .seconds(10)
        ) {
            self.stepTimeout = stepTimeout
            self.endpoint = endpoint
            self.apiKey = apiKey
            self.subscriptions = subscriptions
            self.reconnect = reconnect
            self.pingInterval = pingInterval
            self.maxFrameSize = maxFrameSize
        }
    }

    public let configuration: Configuration
    private let logger: Logger
    private let decoderCounters = Mutex(DecodeCounters())
    private let desired: Mutex<[String]>
    private let currentSession = Mutex<Session?>(nil)

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        desired = Mutex(configuration.subscriptions)
    }

    /// The subscription params the stream holds (or will hold once connected).
    public var subscriptions: [String] { desired.withLock { $0 } }

    /// Replaces the subscriptions: the live connection, if any, is sent `unsubscribe` for what
    /// was removed and `subscribe` for what was added at once, without reconnecting; later
    /// connections subscribe to the new list.
    public func setSubscriptions(_ params: [String]) {
        desired.withLock { $0 = params }
        currentSession.withLock { $0?.subscriptionsChanged() }
    }

    /// The decoder's counters, across connections.
    public var counters: DecodeCounters { decoderCounters.withLock { $0 } }

    /// Streams until the task is cancelled (returns normally) or the key is refused (throws).
    public func run(handler: some MassiveStreamHandler) async throws {
        var attempt = 0
        // Set once data has flowed: from then on every reconnection reports what it missed.
        var gapStart: Int64?
        var lastReason = ""
        while !Task.isCancelled {
            attempt += 1
            handler.stream(.connecting(url: configuration.endpoint.url, attempt: attempt))
            let session = Session(stream: self, handler: handler, gapStart: gapStart, attempt: attempt)
            currentSession.withLock { $0 = session }
            defer { currentSession.withLock { $0 = nil } }
            var reason: String
            do {
                let close = try await connect(session)
                reason = close.map { "closed by server (\($0.closeCode))\($0.reason.map { ": " + $0 } ?? "")" }
                    ?? "closed without a close frame (a network drop, or a frame over \(2 * configuration.maxFrameSize) bytes)"
            } catch let error as MassiveStreamError {
                throw error
            } catch {
                // A shutdown can end the attempt with whatever error the aborted step gives.
                reason = error is CancellationError || Task.isCancelled ? "shutting down" : "\(error)"
            }
            let now = WallClock.nanoseconds()
            let state = session.state.withLock { $0 }
            if let fatal = state.fatal { throw fatal }
            if state.authenticated {
                attempt = 0
                gapStart = state.lastFrameAt ?? now
            }
            // What ended the connection, most specific first: our own limits, then a status
            // Massive sent last (one followed by data is not the reason), then the close.
            if let timeout = state.timedOut {
                reason = timeout
            } else if let size = state.tooLarge {
                reason = "message too large: over \(size) bytes, the limit is \(configuration.maxFrameSize) (closed with 1009)"
            } else if let status = state.lastUpstreamStatus {
                reason = "\(status.status): \(status.message)"
            }
            lastReason = reason
            handler.stream(.disconnected(reason: reason, at: now))
            if state.connected {
                logger.warning("Massive stream disconnected", metadata: ["reason": "\(reason)"])
            } else {
                logger.notice("cannot connect to the Massive stream", metadata: ["reason": "\(reason)"])
            }
            if Task.isCancelled { return }
            if let max = configuration.reconnect.maxAttempts, attempt >= max {
                throw MassiveStreamError.gaveUp(attempts: attempt, lastReason: lastReason)
            }
            var delay = configuration.reconnect.delay(attempt: max(attempt, 1))
            if state.lastUpstreamStatus?.status == "max_connections" {
                delay = max(delay, configuration.reconnect.maxConnectionsDelay)
            }
            handler.stream(.retrying(after: delay, attempt: attempt + 1))
            do { try await Task.sleep(for: delay) } catch { return }
        }
    }

    /// One connection attempt, on an event loop of its own. Until the upgrade is answered the
    /// WebSocket layer waits without a timeout and ignores cancellation, so the attempt runs in a
    /// task of its own that this call stops waiting for when the upgrade takes longer than the
    /// step timeout, or on shutdown: that loop is then shut down, which closes the socket, and
    /// the attempt is left to end by itself. After the upgrade, the handshake watchdog runs
    /// beside the read loop and ends the connection by throwing; cancellation reaches the
    /// attempt as usual.
    private func connect(_ session: Session) async throws -> WebSocketCloseFrame? {
        // The WebSocket layer closes on a frame over its limit without telling why (the
        // connection just ends), so its limit is twice ours: frames and messages up to there
        // are refused by the read loop, which says so; only larger frames end as "closed".
        let configuration = WebSocketClientConfiguration(
            maxFrameSize: min(2 * self.configuration.maxFrameSize, Int(UInt32.max)),
            autoPing: .enabled(timePeriod: self.configuration.pingInterval))
        // The WebSocket layer logs frames at trace level, and the auth frame carries the key.
        var socketLogger = logger
        socketLogger.logLevel = max(logger.logLevel, .info)
        let stepTimeout = self.configuration.stepTimeout
        let url = self.configuration.endpoint.url
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let outcome = Outcome<WebSocketCloseFrame?>()
        let attempt = Task {
            let result: Result<WebSocketCloseFrame?, any Error>
            do {
                result = .success(try await WebSocketClient.connect(
                    url: url, configuration: configuration, eventLoopGroup: loop, logger: socketLogger
                ) { inbound, outbound, _ in
                    guard session.markUpgraded() else { return }
                    // Each child says whether the connection is over when it returns: only the
                    // read loop ends it by returning; the others end it by throwing.
                    try await withThrowingTaskGroup(of: Bool.self) { group in
                        group.addTask { try await session.read(inbound, outbound); return true }
                        group.addTask { try await session.sendSubscriptions(outbound); return false }
                        group.addTask { try await session.watchHandshake(stepTimeout); return false }
                        defer { group.cancelAll() }
                        for try await over in group where over { break }
                    }
                })
            } catch {
                result = .failure(error)
            }
            // The loop is done with: shut it down once nothing runs on it any more.
            if outcome.resume(with: result) { loop.shutdownGracefully { _ in } }
        }
        /// Gives up on an attempt still before its upgrade (its socket is closed with the loop);
        /// false once upgraded.
        let abandon: @Sendable (any Error, String?) -> Bool = { error, reason in
            guard session.abandonBeforeUpgrade(reason: reason) else { return false }
            if outcome.resume(with: .failure(error)) { loop.shutdownGracefully { _ in } }
            return true
        }
        let upgradeWatchdog = Task {
            try await Task.sleep(for: stepTimeout)
            _ = abandon(HandshakeTimeout(), "no WebSocket upgrade within \(stepTimeout)")
        }
        defer { upgradeWatchdog.cancel() }
        return try await withTaskCancellationHandler {
            try await outcome.value()
        } onCancel: {
            if !abandon(CancellationError(), nil) { attempt.cancel() }
        }
    }

    /// A result that the first of several racers sets, and one task awaits.
    private final class Outcome<Value: Sendable>: Sendable {
        private enum State {
            case waiting(CheckedContinuation<Value, any Error>?)
            case done(Result<Value, any Error>)
        }
        private let state = Mutex(State.waiting(nil))

        /// Sets the result unless one was set; true if this call set it.
        func resume(with result: Result<Value, any Error>) -> Bool {
            let waiter = state.withLock { s -> CheckedContinuation<Value, any Error>?? in
                guard case .waiting(let waiter) = s else { return .none }
                s = .done(result)
                return .some(waiter)
            }
            guard let waiter else { return false }
            waiter?.resume(with: result)
            return true
        }

        func value() async throws -> Value {
            try await withCheckedThrowingContinuation { continuation in
                let done = state.withLock { s -> Result<Value, any Error>? in
                    if case .done(let result) = s { return result }
                    s = .waiting(continuation)
                    return nil
                }
                if let done { continuation.resume(with: done) }
            }
        }
    }

    struct HandshakeTimeout: Error {}

    /// One connection's protocol state and read loop.
    private final class Session: Sendable {
        struct State {
            var upgraded = false
            /// Given up before the upgrade (timeout or shutdown): a late upgrade is closed at once.
            var abandoned = false
            var connected = false
            var authenticated = false
            /// The handshake step that took too long, as the disconnect reason.
            var timedOut: String?
            /// The size of a message refused for exceeding ``Configuration/maxFrameSize``.
            var tooLarge: Int?
            var fatal: MassiveStreamError?
            var lastFrameAt: Int64?
            var lastUpstreamStatus: MassiveStatus?
        }

        let stream: MassiveStream
        let handler: any MassiveStreamHandler
        let gapStart: Int64?
        let attempt: Int
        let state = Mutex(State())
        /// Signals the subscription sender: after authentication and after every change.
        private let changes: AsyncStream<Void>
        private let changed: AsyncStream<Void>.Continuation

        init(stream: MassiveStream, handler: any MassiveStreamHandler, gapStart: Int64?, attempt: Int) {
            self.stream = stream
            self.handler = handler
            self.gapStart = gapStart
            self.attempt = attempt
            (changes, changed) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        }

        func subscriptionsChanged() { changed.yield() }

        /// Records the upgrade; false when the attempt was already given up (the handler must
        /// then return at once).
        func markUpgraded() -> Bool {
            state.withLock { s in
                guard !s.abandoned else { return false }
                s.upgraded = true
                return true
            }
        }

        /// Gives the attempt up if it is still before its upgrade, with `reason` as the
        /// disconnect reason; false once upgraded.
        func abandonBeforeUpgrade(reason: String?) -> Bool {
            state.withLock { s in
                guard !s.upgraded, !s.abandoned else { return false }
                s.abandoned = true
                s.timedOut = reason
                return true
            }
        }

        /// Returns once authenticated; throws ``HandshakeTimeout`` (with ``State/timedOut`` set)
        /// when the `connected` greeting or the reply to `auth` has waited `limit`.
        func watchHandshake(_ limit: Duration) async throws {
            let clock = ContinuousClock()
            var step = ""
            var since = clock.now
            while true {
                let current = state.withLock { s -> String? in
                    s.authenticated ? nil : s.connected ? "reply to auth" : "connected greeting"
                }
                guard let current else { return }
                if current != step {
                    (step, since) = (current, clock.now)
                } else if clock.now - since >= limit {
                    state.withLock { $0.timedOut = "no \(step) within \(limit)" }
                    throw HandshakeTimeout()
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }

        /// Keeps the connection's subscriptions equal to the stream's: once authenticated, sends
        /// the differences each time they change. The only writer of subscription messages.
        func sendSubscriptions(_ outbound: WebSocketOutboundWriter) async throws {
            var sent: [String] = []
            for await _ in changes {
                guard state.withLock({ $0.authenticated }) else { continue }
                let wanted = stream.subscriptions
                let wantedSet = Set(wanted), sentSet = Set(sent)
                let removed = sent.filter { !wantedSet.contains($0) }
                let added = wanted.filter { !sentSet.contains($0) }
                for message in MassiveStream.actions("unsubscribe", removed) + MassiveStream.actions("subscribe", added) {
                    try await outbound.write(.text(message))
                }
                sent = wanted
            }
        }

        func read(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter) async throws {
            var decoder = MassiveDecoder(market: stream.configuration.endpoint.market)
            var records: [Record] = []
            records.reserveCapacity(1024)
            var statuses: [MassiveStatus] = []
            var message = ByteBuffer()
            defer { stream.decoderCounters.withLock { $0.add(decoder.counters) } }
            for try await frame in inbound {
                switch frame.opcode {
                case .binary:
                    decoder.noteBinaryFrame()
                    continue
                case .text, .continuation:
                    var data = frame.data
                    let size = message.readableBytes + data.readableBytes
                    guard size <= stream.configuration.maxFrameSize else {
                        decoder.noteMessageTooLarge()
                        state.withLock { $0.tooLarge = size }
                        try await outbound.close(.messageTooLarge, reason: "message too large")
                        return
                    }
                    if !frame.fin || message.readableBytes > 0 {
                        message.writeBuffer(&data)
                        guard frame.fin else { continue }
                        data = message
                        message.clear()
                    }
                    let receivedAt = WallClock.nanoseconds()
                    data.withUnsafeReadableBytes { bytes in
                        decoder.decode(bytes, receivedAt: receivedAt) { event in
                            switch event {
                            case .record(let record): records.append(record)
                            case .status(let status): statuses.append(status)
                            }
                        }
                    }
                    let carriedData = !records.isEmpty
                    state.withLock { s in
                        s.lastFrameAt = receivedAt
                        // Data after a status means the status did not end the connection.
                        if carriedData { s.lastUpstreamStatus = nil }
                    }
                }
                if !records.isEmpty {
                    handler.stream(records: records)
                    records.removeAll(keepingCapacity: true)
                }
                for status in statuses { try await handle(status, outbound) }
                statuses.removeAll(keepingCapacity: true)
                let counts = decoder.counters
                stream.decoderCounters.withLock { $0.add(counts) }
                decoder.resetCounters()
            }
        }

        private func handle(_ status: MassiveStatus, _ outbound: WebSocketOutboundWriter) async throws {
            switch status.status {
            case "connected":
                state.withLock { $0.connected = true }
                handler.stream(.connected)
                try await outbound.write(.text(MassiveStream.action("auth", stream.configuration.apiKey)))
            case "auth_success":
                state.withLock { $0.authenticated = true }
                handler.stream(.authenticated)
                if let gapStart {
                    handler.stream(.resumed(gapStart: gapStart, gapEnd: WallClock.nanoseconds(), attempt: attempt))
                }
                subscriptionsChanged()
            case "auth_failed":
                state.withLock { $0.fatal = .authenticationFailed(status.message) }
                throw MassiveStreamError.authenticationFailed(status.message)
            case "success":
                handler.stream(.subscribed(status.message))
            case "error":
                handler.stream(.subscriptionError(status.message))
            default:
                state.withLock { $0.lastUpstreamStatus = status }
                handler.stream(.upstreamStatus(status))
            }
        }
    }

    /// Longest `params` of one subscription message: long lists (10,000 topics and more) go out
    /// in several messages, each far below any server's frame limit.
    static let maxParamsBytes = 8192

    /// `action` messages for `topics`, as few as fit in ``maxParamsBytes`` each; none for none.
    static func actions(_ action: String, _ topics: [String]) -> [String] {
        var messages: [String] = []
        var params = ""
        for topic in topics {
            if !params.isEmpty, params.utf8.count + 1 + topic.utf8.count > maxParamsBytes {
                messages.append(self.action(action, params))
                params = ""
            }
            params += params.isEmpty ? topic : "," + topic
        }
        if !params.isEmpty { messages.append(self.action(action, params)) }
        return messages
    }

    /// `{"action":"auth","params":"..."}`, `params` as a JSON string.
    static func action(_ action: String, _ params: String) -> String {
        var message = JSONObject()
        message.add("action", string: action)
        message.add("params", string: params)
        return message.text
    }
}
