import Logging
import NIOCore
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
        /// Frames larger than this are refused (and the connection dropped and retried).
        public var maxFrameSize: Int

        public init(
            endpoint: MassiveEndpoint, apiKey: String, subscriptions: [String], reconnect: ReconnectPolicy = .init(),
            pingInterval: Duration = .seconds(20), maxFrameSize: Int = 16 << 20
        ) {
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
                reason = close.map { "closed by server (\($0.closeCode))\($0.reason.map { ": " + $0 } ?? "")" } ?? "closed"
            } catch let error as MassiveStreamError {
                throw error
            } catch is CancellationError {
                reason = "shutting down"
            } catch {
                reason = "\(error)"
            }
            let now = WallClock.nanoseconds()
            let state = session.state.withLock { $0 }
            if let fatal = state.fatal { throw fatal }
            if state.authenticated {
                attempt = 0
                gapStart = state.lastFrameAt ?? now
            }
            if let status = state.lastUpstreamStatus { reason = "\(status.status): \(status.message)" }
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

    private func connect(_ session: Session) async throws -> WebSocketCloseFrame? {
        let configuration = WebSocketClientConfiguration(
            maxFrameSize: self.configuration.maxFrameSize,
            autoPing: .enabled(timePeriod: self.configuration.pingInterval))
        // The WebSocket layer logs frames at trace level, and the auth frame carries the key.
        var socketLogger = logger
        socketLogger.logLevel = max(logger.logLevel, .info)
        return try await WebSocketClient.connect(
            url: self.configuration.endpoint.url, configuration: configuration, logger: socketLogger
        ) { inbound, outbound, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await session.sendSubscriptions(outbound) }
                defer { group.cancelAll() }
                try await session.read(inbound, outbound)
            }
        }
    }

    /// One connection's protocol state and read loop.
    private final class Session: Sendable {
        struct State {
            var connected = false
            var authenticated = false
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
                    state.withLock { $0.lastFrameAt = receivedAt }
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
