import Foundation
import NIOCore

/// Everything `MassiveSimulator` can be told. Defaults give the behaviour of `tickbus sim`.
public struct SimulatorConfiguration: Sendable {
    /// Address to bind (default loopback).
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 picks a free one (read it back with `MassiveSimulator.port()`).
    public var port: Int = 7790
    /// When set, WebSocket auth and REST calls must present exactly this key; otherwise any
    /// non-empty key is accepted.
    public var apiKey: String?
    /// Seed of the synthetic market: same seed, same market.
    public var seed: UInt64 = 1
    /// Trades + quotes per second per market (index values for indices, quotes for forex),
    /// split unevenly across the market's symbols. Bars come on top.
    public var rate: Double = 100
    /// Per-market override of `rate`.
    public var rates: [Market: Double] = [:]
    /// Symbols per market in Massive's WebSocket syntax; a market not named here gets
    /// `Market.defaultSymbols`.
    public var symbols: [Market: [String]] = [:]
    /// Time base of the stream.
    public var clock: Clock = .live
    /// With the live clock: how far the market's clock face is ahead of the wall clock
    /// (negative: behind), in whole minutes. Sessions, holidays and market days are those of
    /// wall time + this offset; event timestamps (stream and REST) stay on the wall clock, so
    /// a pipeline that compares them with its own clock keeps working. Zero (default): the real
    /// calendar. See `marketTimeOffset(_:nowNs:)` and `sessionOffset(nowNs:)`.
    public var marketTimeOffset: Duration = .zero
    /// How often a live connection sends what became due.
    public var tickInterval: Duration = .milliseconds(10)
    /// Largest WebSocket text frame the simulator sends (events are batched up to this size).
    /// The default fits the 16 KiB default of swift-websocket's client.
    public var maxFrameBytes: Int = 16_384
    /// Bars are sent this long after their window ends (Massive holds `A` about 2 s).
    public var barDelay: Duration = .zero
    /// Serve a recorded stream instead of the synthetic market.
    public var replay: Replay?
    /// REST requests allowed per key per minute (429 beyond); nil is unlimited.
    public var restRateLimit: Int?
    /// Entitlements of every key: decides 403s and WebSocket access.
    public var plan: Plan = .advanced
    /// Massive allows one connection per key per cluster: with a limit, a newer connection
    /// evicts the oldest with `max_connections`. nil is unlimited.
    public var connectionLimit: Int?
    /// `auth_timeout` and close when no auth message arrives in time.
    public var authTimeout: Duration = .seconds(15)
    /// Send `slow_consumer` and close when a live connection falls this far behind.
    public var slowConsumerLag: Duration?
    /// Close (normally) after this many data events on a connection.
    public var stopAfterEvents: Int?
    /// Fault injection.
    public var faults = Faults()
    /// Largest number of events one REST request may generate (the request fails beyond).
    public var restWorkLimit: Int = 400_000_000
    /// Largest number of events a new stream generates per symbol to start the day fields (`av`,
    /// `a`, `op`) from the exact day so far, the same for every connection and equal to REST;
    /// beyond (or at 0), it starts from an estimate of the day so far instead.
    public var dayTotalsLimit: Int = 1_000_000
    /// Called with every frame the simulator sends (market, frame bytes). For tests.
    public var frameObserver: (@Sendable (Market, ByteBuffer) -> Void)?

    public init() {}

    public init(port: Int, seed: UInt64 = 1, rate: Double = 100) {
        self.port = port
        self.seed = seed
        self.rate = rate
    }

    public enum Clock: Sendable, Equatable {
        /// Event times follow the wall clock; every connection sees the same market at the same time.
        case live
        /// Each connection's clock starts at `startMs` (Unix ms) when it first subscribes and
        /// runs at `speed` × real time; `speed` 0 (or infinity) runs as fast as the client reads.
        case simulated(startMs: Int64, speed: Double)
    }

    public struct Replay: Sendable {
        public var path: String
        /// Keep the recorded gaps between frames (from the first `t`/`s` of each line) instead of
        /// sending as fast as possible.
        public var recordedSpeed: Bool
        public var loop: Bool

        public init(path: String, recordedSpeed: Bool = false, loop: Bool = false) {
            self.path = path
            self.recordedSpeed = recordedSpeed
            self.loop = loop
        }
    }

    /// Massive plan tiers as far as the simulator checks them.
    public enum Plan: String, Sendable, CaseIterable {
        /// Aggregates of a minute and longer; no WebSocket, no second bars, trades or quotes.
        case basic
        /// + WebSocket and second aggregates.
        case starter
        /// + trades.
        case developer
        /// + quotes (everything).
        case advanced
    }

    /// A step of Massive's WebSocket handshake.
    public enum HandshakeStep: String, Sendable, CaseIterable {
        /// The HTTP upgrade (TCP is accepted, no response follows).
        case upgrade
        /// The `connected` status after the upgrade.
        case greeting
        /// The reply to `auth`.
        case auth
    }

    public struct Faults: Sendable {
        /// Drop every connection this long after it opened.
        public var dropAfter: Duration?
        /// true: close the TCP socket without a close frame (a network drop); false: close frame 1001.
        public var dropAbruptly = true
        /// Malformed frames per second per connection (mixed kinds: truncated JSON, not an array,
        /// wrong types, missing fields, unknown ev, binary).
        public var malformedPerSecond: Double = 0
        /// Send `slow_consumer` and close this long after the connection opened.
        public var slowConsumerAfter: Duration?
        /// Stop sending (socket kept open) for `stallFor` every `stallEvery`; the backlog
        /// follows in one burst.
        public var stallEvery: Duration?
        public var stallFor: Duration = .seconds(5)
        /// Answer every this many REST requests (counted after auth) with an error instead of
        /// data: 429 with `Retry-After` and 503 with a non-JSON body, alternately. nil: never.
        public var restErrorEvery: Int?
        /// How many requests in a row fail each time (a burst of 429s, later a burst of 503s).
        public var restErrorBurst = 1
        /// The `Retry-After` seconds of injected 429s; nil sends no header.
        public var restRetryAfter: Int? = 1
        /// Never get past this step of the handshake: the client must time out.
        public var silentAt: HandshakeStep?
        /// After authentication, send one text message of `bytes` in frames of `fragment` bytes
        /// (one frame when `fragment >= bytes`): the client must cap what it buffers.
        public var oversizeMessage: (bytes: Int, fragment: Int)?

        public init() {}
    }

    func rate(for market: Market) -> Double { rates[market] ?? rate }

    /// Reasons the configuration cannot run.
    public func validate() throws {
        func fail(_ s: String) -> SimulatorError { .invalidConfiguration(s) }
        guard (0...65535).contains(port) else { throw fail("port \(port) out of range") }
        guard rate >= 0, rate.isFinite else { throw fail("rate must be a finite number ≥ 0") }
        for (m, r) in rates where r < 0 || !r.isFinite { throw fail("rate for \(m) must be ≥ 0") }
        guard maxFrameBytes >= 1024 else { throw fail("maxFrameBytes must be at least 1024") }
        guard tickInterval > .zero else { throw fail("tickInterval must be positive") }
        if let key = apiKey, key.isEmpty { throw fail("apiKey must not be empty") }
        for (market, list) in symbols {
            for s in list {
                guard !s.isEmpty, s.utf8.count <= 64,
                    s.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".:/-_".unicodeScalars.contains($0)) })
                else { throw fail("invalid symbol \(s.debugDescription)") }
                guard Market.classify(symbol: s) == market else {
                    throw fail("symbol \(s) does not look like a \(market) symbol")
                }
            }
        }
        if case .simulated(_, let speed) = clock, speed < 0 || speed.isNaN { throw fail("speed must be ≥ 0") }
        let (offsetSeconds, offsetAtto) = marketTimeOffset.components
        guard offsetAtto == 0, offsetSeconds % 60 == 0 else { throw fail("marketTimeOffset must be whole minutes") }
        if offsetSeconds != 0, clock != .live { throw fail("marketTimeOffset needs the live clock") }
        if let n = faults.dropAfter, n <= .zero { throw fail("dropAfter must be positive") }
        if let n = faults.stallEvery, n <= .zero || faults.stallFor <= .zero || faults.stallFor >= n {
            throw fail("stall needs 0 < stallFor < stallEvery")
        }
        if faults.malformedPerSecond < 0 { throw fail("malformedPerSecond must be ≥ 0") }
        if let every = faults.restErrorEvery {
            guard every >= 1, (1...every).contains(faults.restErrorBurst) else {
                throw fail("REST faults need restErrorEvery ≥ 1 and 1 ≤ restErrorBurst ≤ restErrorEvery")
            }
        }
        if let s = faults.restRetryAfter, s < 0 { throw fail("restRetryAfter must be ≥ 0") }
        if dayTotalsLimit < 0 { throw fail("dayTotalsLimit must be ≥ 0") }
        if let n = restRateLimit, n < 1 { throw fail("rate limit must be ≥ 1 request per minute") }
        if let n = connectionLimit, n < 1 { throw fail("connection limit must be ≥ 1") }
    }
}

public enum SimulatorError: Error, CustomStringConvertible, Sendable {
    case invalidConfiguration(String)
    case replayFile(String)
    case notRunning

    public var description: String {
        switch self {
        case .invalidConfiguration(let s): "invalid simulator configuration: \(s)"
        case .replayFile(let s): "replay file: \(s)"
        case .notRunning: "the simulator stopped before it was listening"
        }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (s, atto) = components
        return s &* 1_000_000_000 &+ atto / 1_000_000_000
    }
}

extension SimulatorConfiguration {
    /// Parse a time given as Unix milliseconds, a `YYYY-MM-DD` date (00:00 Eastern) or RFC 3339;
    /// returns Unix ms.
    public static func parseTime(_ text: String) -> Int64? {
        if let ms = TimeParsing.integer(text[...]) { return ms }
        if let day = TimeParsing.parseDate(text[...]) { return EasternTime.startOfLocalDay(day) * 1000 }
        if let ns = TimeParsing.parseRFC3339(text[...]) { return floorDiv(ns, 1_000_000) }
        return nil
    }

    /// The market-time offset that puts US stocks in their regular session: zero when the wall
    /// clock (`nowNs`) is in one, otherwise the offset to the most recent regular open (09:30
    /// ET), rounded up to a whole minute.
    public static func sessionOffset(nowNs: Int64) -> Duration {
        let now = floorDiv(nowNs, 1_000_000_000)
        guard let t = MarketCalendar(market: .stocks, shift: 0).latestRegularTime(atOrBefore: now), t != now else {
            return .zero
        }
        return minuteOffset(to: t, from: now)
    }

    /// Parse `--market-time`: `now` (the real calendar), `session` (`sessionOffset`) or a time
    /// (Unix ms, `YYYY-MM-DD` = 00:00 Eastern, RFC 3339) that the market's clock reads at
    /// `nowNs` (to the minute, never earlier). Returns the offset for `marketTimeOffset`.
    public static func marketTimeOffset(_ text: String, nowNs: Int64) -> Duration? {
        switch text {
        case "now": return .zero
        case "session": return sessionOffset(nowNs: nowNs)
        default:
            guard let ms = parseTime(text) else { return nil }
            return minuteOffset(to: floorDiv(ms, 1000) + (ms % 1000 == 0 ? 0 : 1), from: floorDiv(nowNs, 1_000_000_000))
        }
    }

    /// `target − now` seconds rounded up to a whole minute.
    private static func minuteOffset(to target: Int64, from now: Int64) -> Duration {
        .seconds(-floorDiv(now - target, 60) * 60)
    }

    /// Parse symbol lists: `AAPL,MSFT,O:SPY251219C00650000,I:SPX,EUR/USD,BTC-USD` (each symbol's
    /// market is recognised from its form) or `market=SYM,SYM` for one market.
    public static func parseSymbols(_ lists: [String]) throws -> [Market: [String]] {
        var out: [Market: [String]] = [:]
        for list in lists {
            var forced: Market?
            var body = Substring(list)
            if let eq = list.firstIndex(of: "=") {
                guard let m = Market(rawValue: String(list[..<eq]).lowercased()) else {
                    throw SimulatorError.invalidConfiguration("unknown market in \(list.debugDescription)")
                }
                forced = m
                body = list[list.index(after: eq)...]
                if out[m] == nil { out[m] = [] }
            }
            for raw in body.split(separator: ",") {
                let s = raw.trimmingCharacters(in: .whitespaces)
                if s.isEmpty { continue }
                let m = Market.classify(symbol: s)
                if let forced, forced != m {
                    throw SimulatorError.invalidConfiguration("\(s) is not a \(forced) symbol")
                }
                out[m, default: []].append(s)
            }
        }
        return out
    }
}
