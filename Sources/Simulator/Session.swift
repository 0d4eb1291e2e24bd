import Foundation
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOPosix
import NIOWebSocket
import ServiceLifecycle
import Synchronization

/// Counters shared by all connections of one simulator.
public struct SimulatorStats: Sendable, Equatable {
    public var connectionsOpened: Int
    public var connectionsActive: Int
    public var framesSent: Int
    public var eventsSent: Int
    public var bytesSent: Int
    public var restRequests: Int
}

final class StatsBox: Sendable {
    let connectionsOpened = Atomic<Int>(0)
    let connectionsActive = Atomic<Int>(0)
    let framesSent = Atomic<Int>(0)
    let eventsSent = Atomic<Int>(0)
    let bytesSent = Atomic<Int>(0)
    let restRequests = Atomic<Int>(0)

    var snapshot: SimulatorStats {
        SimulatorStats(
            connectionsOpened: connectionsOpened.load(ordering: .relaxed),
            connectionsActive: connectionsActive.load(ordering: .relaxed),
            framesSent: framesSent.load(ordering: .relaxed), eventsSent: eventsSent.load(ordering: .relaxed),
            bytesSent: bytesSent.load(ordering: .relaxed), restRequests: restRequests.load(ordering: .relaxed))
    }
}

/// What every connection shares.
struct SessionEnvironment: Sendable {
    let configuration: SimulatorConfiguration
    let universe: Universe
    let history: HistoryEngine
    /// Threads for history generation (REST and the streams' day totals), the simulator's own so
    /// that one busy simulator does not hold up another in the same process.
    let workers: NIOThreadPool
    let registry: ConnectionRegistry
    let replay: ReplayData?
    let stats: StatsBox
    let logger: Logger
}

/// One WebSocket connection: Massive's handshake and subscription protocol, then the merged
/// stream of its subscriptions (or a replay), with the configured faults.
enum WebSocketSession {
    static func run(
        market: Market, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
        channel: any Channel, environment env: SessionEnvironment
    ) async {
        let queue = ControlQueue()
        env.stats.connectionsOpened.add(1, ordering: .relaxed)
        env.stats.connectionsActive.add(1, ordering: .relaxed)
        defer { env.stats.connectionsActive.subtract(1, ordering: .relaxed) }
        let logger = env.logger
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        switch message {
                        case .text(let s): queue.push(.text(s))
                        case .binary: queue.push(.binary)
                        }
                    }
                } catch {}
                queue.push(.closed)
            }
            do {
                try await loop(market: market, outbound: outbound, channel: channel, queue: queue, env: env)
            } catch is CancellationError {
            } catch {
                logger.debug("websocket session ended", metadata: ["market": "\(market)", "error": "\(error)"])
            }
            group.cancelAll()
        }
    }

    /// Massive's futures clusters (`/futures`, `/futures/cme`, …), which the simulator does not
    /// simulate, answered as Massive answers a cluster the plan does not include: `connected`,
    /// then `auth_failed` with the plan text (`authentication failed` for a refused key) and a
    /// close 1008. Massive's clients treat `auth_failed` as fatal, so they stop instead of
    /// retrying an upgrade forever.
    static let unsimulatedPaths = ["/futures", "/futures/cme", "/futures/cbot", "/futures/nymex", "/futures/comex"]

    static func runUnentitled(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, environment env: SessionEnvironment
    ) async {
        let config = env.configuration
        env.stats.connectionsOpened.add(1, ordering: .relaxed)
        env.stats.connectionsActive.add(1, ordering: .relaxed)
        defer { env.stats.connectionsActive.subtract(1, ordering: .relaxed) }
        func send(_ statuses: [(String, String)]) async throws {
            let frame = statusFrame(statuses)
            env.stats.framesSent.add(1, ordering: .relaxed)
            try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: frame)))
        }
        enum Outcome: Sendable { case key(String), timeout, closed }
        do {
            try await send([("connected", "Connected Successfully")])
            let outcome = await withTaskGroup(of: Outcome.self) { group in
                group.addTask {
                    do {
                        for try await message in inbound.messages(maxSize: 1 << 20) {
                            guard case .text(let text) = message, let action = ClientAction.parse(text) else {
                                try await send([("error", "invalid message: expected {\"action\":…,\"params\":…}")])
                                continue
                            }
                            if action.action == "auth" { return .key(action.params) }
                            try await send([("error", "not authenticated")])
                        }
                    } catch {}
                    return .closed
                }
                group.addTask {
                    try? await Task.sleep(for: config.authTimeout)
                    return .timeout
                }
                let first = await group.next() ?? .closed
                group.cancelAll()
                return first
            }
            switch outcome {
            case .key(let key):
                let refused = key.isEmpty || (config.apiKey != nil && key != config.apiKey)
                try await send([("auth_failed", refused ? authFailed : noWebSocketPlan)])
            case .timeout:
                try await send([("auth_timeout", "No authentication request received.")])
            case .closed:
                return
            }
            try await outbound.close(.policyViolation, reason: nil)
        } catch {
            env.logger.debug("futures session ended", metadata: ["error": "\(error)"])
        }
    }

    private static func statusFrame(_ statuses: [(String, String)]) -> ByteBuffer {
        var f = FrameBuffer(capacity: 256)
        f.beginArray()
        for (s, m) in statuses { EventEncoder.status(s, m, into: &f) }
        return f.finishArray()
    }

    static let authFailed = "authentication failed"
    static let noWebSocketPlan =
        "Your plan doesn't include websocket access. Visit https://massive.com/pricing to upgrade."
    static let maxConnections =
        "Maximum number of websocket connections exceeded. You have reached the connection limit for your account. Please contact support at https://massive.com/contact to increase your limit."
    static let slowConsumer =
        "Slow consumer: the client is not reading data fast enough and the connection's buffer is full. Closing."

    private static func loop(
        market: Market, outbound: WebSocketOutboundWriter, channel: any Channel, queue: ControlQueue,
        env: SessionEnvironment
    ) async throws {
        let config = env.configuration
        let specs = env.universe.symbols(market)
        let stats = env.stats
        let observer = config.frameObserver
        var engine = StreamEngine(symbolCount: specs.count)
        var frame = FrameBuffer(capacity: config.maxFrameBytes + 1024)
        frame.beginArray()
        var subs = Subscriptions()
        var authenticated = false
        var registration: (id: Int, key: String)?
        defer {
            if let r = registration { env.registry.unregister(market: market, key: r.key, id: r.id) }
        }
        let clock = ContinuousClock()
        let opened = clock.now
        var lastTick = opened
        var simulatedOrigin: Int64?  // wall ns when the simulated clock started
        var cursorNs: Int64 = 0  // everything up to here has been sent
        var eventsLeft = config.stopAfterEvents ?? Int.max
        var malformedBudget = 0.0
        var malformedIndex = 0
        var replayIndex = 0
        var replayStart: ContinuousClock.Instant?
        let barDelayNs = config.barDelay.nanoseconds
        let tickNs = config.tickInterval.nanoseconds
        let maxSpeed: Bool
        let simulatedStart: Int64
        let speed: Double
        switch config.clock {
        case .live:
            maxSpeed = false
            simulatedStart = 0
            speed = 1
        case .simulated(let startMs, let s):
            maxSpeed = s == 0 || !s.isFinite
            simulatedStart = startMs &* 1_000_000
            speed = s
        }
        let marketRate = max(config.rate(for: market), 1)
        // Simulated time per iteration at full speed: roughly 8k events, 10 ms to 60 s.
        let maxSpeedStep = Int64(min(60e9, max(Double(tickNs), 8_000 / marketRate * 1e9)))

        func write(_ buffer: ByteBuffer, events: Int = 0, opcode: WebSocketOpcode = .text) async throws {
            observer?(market, buffer)
            stats.framesSent.add(1, ordering: .relaxed)
            stats.bytesSent.add(buffer.readableBytes, ordering: .relaxed)
            if events > 0 { stats.eventsSent.add(events, ordering: .relaxed) }
            try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: opcode, data: buffer)))
        }
        /// Fault: one text message of `bytes` (a JSON array of blanks) in frames of `fragment`.
        func sendOversize(_ bytes: Int, in fragment: Int) async throws {
            var sent = 0
            while sent < bytes {
                let n = min(max(fragment, 1), bytes - sent)
                var data = ByteBuffer(repeating: UInt8(ascii: " "), count: n)
                if sent == 0 { data.setInteger(UInt8(ascii: "["), at: 0) }
                if sent + n == bytes { data.setInteger(UInt8(ascii: "]"), at: n - 1) }
                stats.framesSent.add(1, ordering: .relaxed)
                stats.bytesSent.add(n, ordering: .relaxed)
                try await outbound.write(.custom(WebSocketFrame(
                    fin: sent + n == bytes, opcode: sent == 0 ? .text : .continuation, data: data)))
                sent += n
            }
        }
        func close(_ code: WebSocketErrorCode) async {
            try? await outbound.close(code, reason: nil)
        }
        /// The stream time a new subscription starts at.
        func currentStreamTime() -> Int64 {
            switch config.clock {
            case .live: return WallClock.nowNanos()
            case .simulated:
                if simulatedOrigin == nil {
                    simulatedOrigin = WallClock.nowNanos()
                    cursorNs = simulatedStart
                }
                return cursorNs
            }
        }

        /// Fault: say nothing more until the client goes away.
        func stayQuiet() async throws {
            while !queue.drain().contains(where: { if case .closed = $0 { true } else { false } }) {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        if config.faults.silentAt == .greeting { return try await stayQuiet() }
        try await write(statusFrame([("connected", "Connected Successfully")]))
        if config.faults.silentAt == .auth { return try await stayQuiet() }

        while true {
            if Task.isCancelled || Task.isShuttingDownGracefully {
                await close(.goingAway)
                return
            }
            let now = clock.now
            let elapsed = now - opened
            let dt = now - lastTick
            lastTick = now

            // Faults that end the connection.
            if let after = config.faults.dropAfter, elapsed >= after {
                if config.faults.dropAbruptly {
                    try? await channel.close(mode: .all)
                } else {
                    await close(.goingAway)
                }
                return
            }
            if let after = config.faults.slowConsumerAfter, elapsed >= after {
                try await write(statusFrame([("slow_consumer", slowConsumer)]))
                await close(.policyViolation)
                return
            }
            if let every = config.faults.stallEvery, elapsed >= every {
                let phase = elapsed.nanoseconds % every.nanoseconds
                if phase < config.faults.stallFor.nanoseconds {
                    try await Task.sleep(for: .nanoseconds(min(tickNs, config.faults.stallFor.nanoseconds - phase)))
                    continue
                }
            }

            // Control messages, answered in order before any data that reflects them.
            var replies: [(String, String)] = []
            var closeCode: WebSocketErrorCode?
            var subscriptionsChanged = false
            for message in queue.drain() {
                switch message {
                case .closed:
                    return
                case .evict:
                    replies.append(("max_connections", maxConnections))
                    closeCode = .policyViolation
                case .binary:
                    replies.append(("error", "binary messages are not supported"))
                case .text(let text):
                    guard let action = ClientAction.parse(text) else {
                        replies.append(("error", "invalid message: expected {\"action\":…,\"params\":…}"))
                        continue
                    }
                    switch action.action {
                    case "auth":
                        let key = action.params
                        if key.isEmpty || (config.apiKey != nil && key != config.apiKey) {
                            replies.append(("auth_failed", authFailed))
                            closeCode = .policyViolation
                        } else if config.plan == .basic {
                            replies.append(("auth_failed", noWebSocketPlan))
                            closeCode = .policyViolation
                        } else {
                            if !authenticated {
                                authenticated = true
                                let id = env.registry.register(
                                    market: market, key: key, queue: queue, limit: config.connectionLimit)
                                registration = (id, key)
                            }
                            replies.append(("auth_success", "authenticated"))
                            if let oversize = config.faults.oversizeMessage {
                                try await write(statusFrame(replies))
                                replies = []
                                try await sendOversize(oversize.bytes, in: oversize.fragment)
                            }
                        }
                    case "subscribe", "unsubscribe":
                        guard authenticated else {
                            replies.append(("error", "not authenticated"))
                            continue
                        }
                        let subscribe = action.action == "subscribe"
                        for raw in action.params.split(separator: ",") {
                            let param = raw.trimmingCharacters(in: .whitespaces)
                            if param.isEmpty { continue }
                            switch subs.apply(param[...], subscribe: subscribe, market: market) {
                            case .ok, .ignoredChannel:
                                replies.append(("success", (subscribe ? "subscribed to: " : "unsubscribed to: ") + param))
                                subscriptionsChanged = true
                            case .invalid:
                                replies.append(("error", "invalid subscription: " + param))
                            }
                        }
                    default:
                        replies.append(("error", "unknown action: " + action.action))
                    }
                }
                if closeCode != nil { break }
            }
            if !replies.isEmpty { try await write(statusFrame(replies)) }
            if let code = closeCode {
                await close(code)
                return
            }
            if !authenticated, elapsed >= config.authTimeout {
                try await write(statusFrame([("auth_timeout", "No authentication request received.")]))
                await close(.policyViolation)
                return
            }
            if subscriptionsChanged {
                if env.replay != nil {
                    if replayStart == nil, !subs.isEmpty { replayStart = clock.now }
                } else {
                    var starting: [(spec: SymbolSpec, mask: UInt8)] = []
                    for spec in specs {
                        let mask = subs.mask(for: spec.name)
                        let exists = engine.hasStream(spec.index)
                        if mask == 0 {
                            if exists { engine.setStream(spec.index, nil) }
                        } else if exists {
                            engine.setMask(spec.index, mask)
                        } else {
                            starting.append((spec, mask))
                        }
                    }
                    if !starting.isEmpty {
                        // New streams start from the day's totals: generate (and cache) them off the
                        // event loop first, then start the streams at the time that has come.
                        let history = env.history
                        let ahead =
                            config.clock == .live ? WallClock.nowNanos() : (simulatedOrigin == nil ? simulatedStart : cursorNs)
                        try await env.workers.runIfActive { [starting] in
                            let minute = floorDiv(floorDiv(ahead, 1_000_000_000), 60) * 60
                            for s in starting { _ = history.dayTotals(s.spec, upTo: minute) }
                        }
                    }
                    let start = currentStreamTime()
                    for s in starting {
                        engine.setStream(
                            s.spec.index,
                            SymbolStream(
                                spec: s.spec, startNs: start, mask: s.mask, barDelayNs: barDelayNs, history: env.history))
                    }
                    if case .live = config.clock, cursorNs < start { cursorNs = start }
                }
            }

            // Malformed frames.
            if authenticated, config.faults.malformedPerSecond > 0 {
                malformedBudget += config.faults.malformedPerSecond * Double(dt.nanoseconds) / 1e9
                while malformedBudget >= 1 {
                    malformedBudget -= 1
                    let (bytes, binary) = MalformedFrames.frame(malformedIndex, market: market)
                    malformedIndex += 1
                    try await write(bytes, opcode: binary ? .binary : .text)
                }
            }

            // Synthetic data due since the last window.
            var busy = false
            if authenticated, env.replay == nil, !engine.isEmpty {
                let target: Int64
                switch config.clock {
                case .live:
                    target = WallClock.nowNanos()
                case .simulated:
                    if maxSpeed {
                        target = cursorNs &+ maxSpeedStep
                    } else {
                        let origin = simulatedOrigin ?? WallClock.nowNanos()
                        target = simulatedStart &+ Int64(Double(WallClock.nowNanos() &- origin) * speed)
                    }
                }
                if target > cursorNs {
                    engine.beginWindow(limit: target)
                    var done = false
                    while !done {
                        var out: [ByteBuffer] = []
                        var counts: [Int] = []
                        done = fill(
                            engine: &engine, frame: &frame, maxFrameBytes: config.maxFrameBytes,
                            budget: 1 << 20, eventsLeft: &eventsLeft, out: &out, counts: &counts)
                        for (b, n) in zip(out, counts) { try await write(b, events: n) }
                        if eventsLeft <= 0 {
                            await close(.normalClosure)
                            return
                        }
                    }
                    cursorNs = target
                    busy = maxSpeed
                    if case .live = config.clock, let lag = config.slowConsumerLag,
                        WallClock.nowNanos() - target > lag.nanoseconds
                    {
                        try await write(statusFrame([("slow_consumer", slowConsumer)]))
                        await close(.policyViolation)
                        return
                    }
                }
            }

            // Replay.
            if authenticated, let replay = env.replay, let started = replayStart {
                var sent = 0
                while replayIndex < replay.frames.count, sent < 256 {
                    if replay.config.recordedSpeed, let recorded = replay.offsetsMs[replayIndex],
                        clock.now < started + .milliseconds(recorded)
                    {
                        break
                    }
                    try await write(replay.frames[replayIndex], events: replay.eventCounts[replayIndex])
                    replayIndex += 1
                    sent += 1
                }
                if replayIndex >= replay.frames.count, replay.config.loop, !replay.frames.isEmpty {
                    replayIndex = 0
                    replayStart = clock.now
                }
                busy = sent == 256
            }

            if busy {
                await Task.yield()
            } else {
                try await Task.sleep(for: config.tickInterval)
            }
        }
    }

    /// Encode due items into frames until the window is done (true) or `budget` bytes are ready.
    static func fill(
        engine: inout StreamEngine, frame: inout FrameBuffer, maxFrameBytes: Int,
        budget: Int, eventsLeft: inout Int, out: inout [ByteBuffer], counts: inout [Int]
    ) -> Bool {
        var bytes = 0
        let margin = EventEncoder.maxEventBytes + 160
        @inline(__always) func flush(_ frame: inout FrameBuffer) {
            counts.append(frame.items)
            let b = frame.finishArray()
            bytes += b.readableBytes
            out.append(b)
        }
        while let (item, spec, mask) = engine.next() {
            switch item {
            case .event(let e):
                guard mask & e.kind.maskBit != 0 else { continue }
                if frame.items > 0, frame.count + margin > maxFrameBytes { flush(&frame) }
                EventEncoder.encode(e, spec, into: &frame)
            case .bar(let b):
                guard mask & b.kind.maskBit != 0 else { continue }
                if frame.items > 0, frame.count + margin > maxFrameBytes { flush(&frame) }
                EventEncoder.encode(b, spec, into: &frame)
            }
            eventsLeft -= 1
            if eventsLeft <= 0 {
                flush(&frame)
                return true
            }
            if bytes >= budget { return false }
        }
        if frame.items > 0 { flush(&frame) }
        return true
    }
}

/// The malformed frames of the fault injector, cycling through kinds of bad input.
enum MalformedFrames {
    static let count = 9

    static func frame(_ i: Int, market: Market) -> (ByteBuffer, binary: Bool) {
        let ev = market.code(for: .trade) ?? market.code(for: .quote) ?? market.code(for: .value) ?? "T"
        let text: String
        switch i % count {
        case 0: text = #"[{"ev":"\#(ev)","sym":"AAPL","x":4,"p":1"#  // truncated
        case 1: text = #"{"ev":"\#(ev)","sym":"AAPL","p":1.5,"t":1}"#  // not an array
        case 2: text = "this is not json"
        case 3: text = #"[{"ev":"\#(ev)","sym":"AAPL","x":"four","p":"abc","s":-1,"t":"soon"}]"#  // wrong types
        case 4: text = #"[{"ev":"\#(ev)"}]"#  // missing fields
        case 5: text = #"[{"ev":"ZZZ","sym":"AAPL"},{"ev":"status","status":"info","message":"unknown event before this"}]"#
        case 6: return (ByteBuffer(bytes: [0xFF, 0x00, 0xFE, 0x7B]), true)  // binary
        case 7: text = #"[{"ev":"\#(ev)","sym":"AAPL","p":1e999999,"s":99999999999999999999999,"t":-1}]"#  // overflow
        default: text = #"[1,2,"x",null,{"ev":null},[]]"#  // wrong element types
        }
        return (ByteBuffer(string: text), false)
    }
}
