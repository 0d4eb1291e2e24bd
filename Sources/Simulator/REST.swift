import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import Synchronization

final class RequestIDs: Sendable {
    let counter = Atomic<UInt64>(0)
    let salt = UInt64(bitPattern: WallClock.nowNanos())
}

/// Requests per key in a sliding minute.
final class RateLimiter: Sendable {
    let perMinute: Int
    private let hits = Mutex<[String: [Int64]]>([:])

    init(perMinute: Int) { self.perMinute = perMinute }

    /// Record a request; false when the key is over its limit.
    func allow(key: String, nowNs: Int64) -> Bool {
        hits.withLock { h in
            var list = h[key] ?? []
            let cutoff = nowNs - 60_000_000_000
            if let firstKept = list.firstIndex(where: { $0 > cutoff }) {
                list.removeFirst(firstKept)
            } else {
                list.removeAll()
            }
            guard list.count < perMinute else {
                h[key] = list
                return false
            }
            list.append(nowNs)
            h[key] = list
            return true
        }
    }
}

/// Massive's REST endpoints on the simulator's port: aggregates, v3 trades and quotes, with
/// Massive's auth, errors, rate limit and `next_url` pagination.
struct RESTResponder: HTTPResponder {
    typealias Context = BasicRequestContext

    let configuration: SimulatorConfiguration
    let universe: Universe
    let history: HistoryEngine
    /// Threads for history generation (the simulator's own).
    let workers: NIOThreadPool
    let limiter: RateLimiter?
    let faults: RESTFaultInjector?
    let stats: StatsBox
    let logger: Logger
    private let ids = RequestIDs()

    init(
        configuration: SimulatorConfiguration, universe: Universe, history: HistoryEngine, workers: NIOThreadPool,
        stats: StatsBox, logger: Logger
    ) {
        self.configuration = configuration
        self.universe = universe
        self.history = history
        self.workers = workers
        self.limiter = configuration.restRateLimit.map { RateLimiter(perMinute: $0) }
        self.faults = RESTFaultInjector(configuration.faults)
        self.stats = stats
        self.logger = logger
    }

    private func requestID() -> String {
        let n = ids.counter.add(1, ordering: .relaxed).newValue
        let a = SplitMix64.mix(ids.salt &+ n)
        let b = SplitMix64.mix(a ^ 0x5EED)
        return hex(a) + hex(b)
    }

    private func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    enum Route {
        case aggregates(ticker: String, multiplier: String, timespan: String, from: String, to: String)
        case trades(ticker: String)
        case quotes(ticker: String)
    }

    static func route(_ path: String) -> Route? {
        let parts = path.split(separator: "/").map { percentDecode($0) }
        if parts.count == 9, parts[0] == "v2", parts[1] == "aggs", parts[2] == "ticker", parts[4] == "range" {
            return .aggregates(ticker: parts[3], multiplier: parts[5], timespan: parts[6], from: parts[7], to: parts[8])
        }
        if parts.count == 3, parts[0] == "v3", parts[1] == "trades" { return .trades(ticker: parts[2]) }
        if parts.count == 3, parts[0] == "v3", parts[1] == "quotes" { return .quotes(ticker: parts[2]) }
        return nil
    }

    func respond(to request: Request, context: Context) async throws -> Response {
        stats.restRequests.add(1, ordering: .relaxed)
        let id = requestID()
        guard request.method == .get || request.method == .head, let route = Self.route(request.uri.path) else {
            return Self.json(.notFound, #"{"status":"NOT_FOUND","request_id":"\#(id)","message":"Not Found"}"#)
        }
        var query: [Substring: Substring] = [:]
        for (k, v) in request.uri.queryParameters where query[k] == nil { query[k] = v }
        var key: String?
        if let k = query["apiKey"], !k.isEmpty { key = String(k) }
        if key == nil, let auth = request.headers[.authorization] {
            let parts = auth.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty { key = String(parts[1]) }
        }
        guard let key else {
            return Self.error(.unauthorized, id, "API Key was not provided")
        }
        if let required = configuration.apiKey, key != required {
            return Self.error(.unauthorized, id, "Unknown API Key")
        }
        if let fault = faults?.fault(requestID: id) { return fault }
        if let limiter, !limiter.allow(key: key, nowNs: WallClock.nowNanos()) {
            return Self.error(
                .tooManyRequests, id,
                "You've exceeded the maximum requests per minute, please wait or upgrade your subscription to continue.")
        }
        let host = request.head.authority ?? "\(configuration.host):\(configuration.port)"
        do {
            switch route {
            case .aggregates(let ticker, let mult, let timespan, let from, let to):
                if timespan == "second", configuration.plan == .basic { return Self.notEntitled(id) }
                return try await aggregates(
                    ticker: ticker, multiplier: mult, timespan: timespan, from: from, to: to, query: query,
                    requestID: id, host: host)
            case .trades(let ticker):
                if configuration.plan == .basic || configuration.plan == .starter { return Self.notEntitled(id) }
                return try await ticks(.trade, ticker: ticker, query: query, requestID: id, host: host)
            case .quotes(let ticker):
                if configuration.plan != .advanced { return Self.notEntitled(id) }
                return try await ticks(.quote, ticker: ticker, query: query, requestID: id, host: host)
            }
        } catch let e as HistoryError {
            return Self.error(HTTPResponse.Status(code: e.status), id, e.message)
        }
    }

    // MARK: aggregates

    private func aggregates(
        ticker: String, multiplier: String, timespan: String, from: String, to: String,
        query: [Substring: Substring], requestID: String, host: String
    ) async throws -> Response {
        guard let mult = Int64(multiplier), mult >= 1 else { throw HistoryError(status: 400, message: "multiplier must be a positive integer") }
        guard let span = Timespan(rawValue: timespan) else {
            throw HistoryError(status: 400, message: "timespan must be one of second, minute, hour, day, week, month, quarter, year")
        }
        let spec = universe.spec(restTicker: ticker)
        let zone = universe.calendar(spec?.market ?? .stocks).zone
        guard let fromSecond = Self.parseBound(from, end: false, zone: zone),
            let toSecond = Self.parseBound(to, end: true, zone: zone)
        else {
            throw HistoryError(status: 400, message: "from and to must be YYYY-MM-DD dates or Unix millisecond timestamps")
        }
        // A cursor carries the paging parameters; otherwise the query does.
        var params = query
        if let cursor = query["cursor"] {
            guard let decoded = Self.decodeCursor(cursor) else { throw HistoryError(status: 400, message: "invalid cursor") }
            params = decoded
        }
        let adjusted = params["adjusted"].map { $0 != "false" } ?? true
        let ascending = params["sort"].map { $0 != "desc" } ?? true
        if let s = params["sort"], s != "asc", s != "desc" { throw HistoryError(status: 400, message: "sort must be asc or desc") }
        var limit = 5_000
        if let l = params["limit"] {
            guard let v = Int(l), v >= 1 else { throw HistoryError(status: 400, message: "limit must be a positive integer") }
            limit = min(v, 50_000)
        }
        guard let spec else {
            return Self.json(.ok, Self.aggregatesBody(ticker: ticker, adjusted: adjusted, requestID: requestID, page: nil, spec: nil, nextURL: nil))
        }
        let now = floorDiv(WallClock.nowNanos(), 1_000_000_000)
        let history = self.history
        let pageLimit = limit
        let page = try await workers.runIfActive {
            try history.aggregates(
                spec, multiplier: mult, timespan: span, fromSecond: fromSecond, toSecond: toSecond,
                ascending: ascending, limit: pageLimit, now: now)
        }
        var nextURL: String?
        if let bound = page.nextBoundMs {
            let cursor = Self.encodeCursor("adjusted=\(adjusted)&limit=\(limit)&sort=\(ascending ? "asc" : "desc")")
            let newFrom = ascending ? String(bound) : from
            let newTo = ascending ? to : String(bound)
            nextURL = "http://\(host)/v2/aggs/ticker/\(Self.percentEncode(ticker))/range/\(mult)/\(span.rawValue)/\(newFrom)/\(newTo)?cursor=\(cursor)"
        }
        return Self.json(.ok, Self.aggregatesBody(ticker: ticker, adjusted: adjusted, requestID: requestID, page: page, spec: spec, nextURL: nextURL))
    }

    /// A range bound in seconds: a date (start or end of that calendar day) or Unix ms.
    static func parseBound(_ s: String, end: Bool, zone: CalendarZone) -> Int64? {
        if let day = TimeParsing.parseDate(s[...]) {
            return end ? zone.startOfLocalDay(day + 1) - 1 : zone.startOfLocalDay(day)
        }
        if let ms = TimeParsing.integer(s[...]) { return floorDiv(ms, 1000) }
        return nil
    }

    static func aggregatesBody(
        ticker: String, adjusted: Bool, requestID: String, page: HistoryEngine.AggregatesPage?, spec: SymbolSpec?,
        nextURL: String?
    ) -> String {
        var f = FrameBuffer(capacity: 256 + (page?.bars.count ?? 0) * 160)
        f.text(#"{"ticker":"#)
        f.text(jsonStringLiteral(ticker))
        f.text(#","queryCount":"#)
        f.int(Int64(page?.queryCount ?? 0))
        f.text(#","resultsCount":"#)
        f.int(Int64(page?.bars.count ?? 0))
        f.text(adjusted ? #","adjusted":true"# : #","adjusted":false"#)
        if let page, let spec, !page.bars.isEmpty {
            f.text(#","results":["#)
            let d = spec.decimals
            let scale = Double(pow10(d))
            for (i, bar) in page.bars.enumerated() {
                f.ensure(400)
                if i > 0 { f.byte(UInt8(ascii: ",")) }
                let a = bar.acc
                f.byte(UInt8(ascii: "{"))
                if spec.market != .indices {
                    f.raw(#""v":"#)
                    if spec.market == .crypto { f.fixed(a.volume, decimals: 8) } else { f.int(a.volume) }
                    f.raw(#","vw":"#)
                    f.decimal(a.vwapTicks / scale, decimals: spec.averageDecimals)
                    f.raw(#","#)
                }
                f.raw(#""o":"#)
                f.fixed(a.open, decimals: d)
                f.raw(#","c":"#)
                f.fixed(a.close, decimals: d)
                f.raw(#","h":"#)
                f.fixed(a.high, decimals: d)
                f.raw(#","l":"#)
                f.fixed(a.low, decimals: d)
                f.raw(#","t":"#)
                f.int(bar.startMs)
                if spec.market != .indices {
                    f.raw(#","n":"#)
                    f.int(a.count)
                }
                f.byte(UInt8(ascii: "}"))
            }
            f.text("]")
        }
        f.text(#","status":"OK","request_id":""#)
        f.text(requestID)
        f.text("\"")
        if let nextURL {
            f.text(#","next_url":"#)
            f.text(jsonStringLiteral(nextURL))
        }
        f.text("}")
        return f.string
    }

    // MARK: trades and quotes

    private func ticks(
        _ kind: EventKind, ticker: String, query: [Substring: Substring], requestID: String, host: String
    ) async throws -> Response {
        var params = query
        var position: (second: Int64, index: Int)?
        if let cursor = query["cursor"] {
            guard let decoded = Self.decodeCursor(cursor) else { throw HistoryError(status: 400, message: "invalid cursor") }
            params = decoded
            guard let s = params["pos"].flatMap({ TimeParsing.integer($0) }),
                let i = params["idx"].flatMap({ Int($0) })
            else { throw HistoryError(status: 400, message: "invalid cursor") }
            position = (s, i)
        }
        let nowNs = WallClock.nowNanos()
        let zone = universe.calendar(universe.spec(restTicker: ticker)?.market ?? .stocks).zone
        var lo = Int64.min
        var hi = nowNs
        func bound(_ name: Substring, end: Bool) throws -> Int64? {
            guard let v = params[name] else { return nil }
            if let day = TimeParsing.parseDate(v) {
                return end ? zone.startOfLocalDay(day + 1) * 1_000_000_000 - 1 : zone.startOfLocalDay(day) * 1_000_000_000
            }
            if let ns = TimeParsing.integer(v) { return ns }
            if let ns = TimeParsing.parseRFC3339(v) { return ns }
            throw HistoryError(status: 400, message: "\(name) must be a date, a Unix nanosecond timestamp or RFC 3339")
        }
        if params["timestamp"] != nil {
            let a = try bound("timestamp", end: false)!
            let b = try bound("timestamp", end: true)!
            lo = a
            hi = min(hi, b)
        }
        if let v = try bound("timestamp.gte", end: false) { lo = max(lo, v) }
        if let v = try bound("timestamp.gt", end: true) { lo = max(lo, v + 1) }
        if let v = try bound("timestamp.lte", end: true) { hi = min(hi, v) }
        if let v = try bound("timestamp.lt", end: false) { hi = min(hi, v - 1) }
        if lo == Int64.min { lo = hi - 7 * 86_400 * 1_000_000_000 }  // an unbounded look-back stops after a week
        let order = params["order"] ?? "desc"
        guard order == "asc" || order == "desc" else { throw HistoryError(status: 400, message: "order must be asc or desc") }
        if let s = params["sort"], s != "timestamp" { throw HistoryError(status: 400, message: "sort must be timestamp") }
        var limit = 1_000
        if let l = params["limit"] {
            guard let v = Int(l), v >= 1 else { throw HistoryError(status: 400, message: "limit must be a positive integer") }
            limit = min(v, 50_000)
        }
        guard let spec = universe.spec(restTicker: ticker),
            kind == .trade ? spec.market.hasTrades : spec.market.hasQuotes
        else {
            return Self.json(.ok, #"{"results":[],"status":"OK","request_id":"\#(requestID)"}"#)
        }
        let ascending = order == "asc"
        let history = self.history
        let (loBound, hiBound, lim, pos) = (lo, hi, limit, position)
        let page = try await workers.runIfActive {
            try history.ticks(spec, kind: kind, lo: loBound, hi: hiBound, ascending: ascending, limit: lim, position: pos)
        }
        var nextURL: String?
        if let next = page.next {
            let state = "timestamp.gte=\(lo)&timestamp.lte=\(hi)&order=\(order)&sort=timestamp&limit=\(limit)&pos=\(next.second)&idx=\(next.index)"
            nextURL = "http://\(host)/v3/\(kind == .trade ? "trades" : "quotes")/\(Self.percentEncode(ticker))?cursor=\(Self.encodeCursor(state))"
        }
        return Self.json(.ok, Self.ticksBody(page.events, kind: kind, spec: spec, requestID: requestID, nextURL: nextURL))
    }

    static func ticksBody(_ events: [SimEvent], kind: EventKind, spec: SymbolSpec, requestID: String, nextURL: String?) -> String {
        var f = FrameBuffer(capacity: 256 + events.count * 300)
        f.text(#"{"results":["#)
        let d = spec.decimals
        for (n, e) in events.enumerated() {
            f.ensure(600)
            if n > 0 { f.byte(UInt8(ascii: ",")) }
            let participant = e.timestampNs - Int64(e.participantDelayNs)
            switch (spec.market, kind) {
            case (.stocks, .trade):
                let codes = stockConditions(e.flags)
                if !codes.isEmpty {
                    f.raw(#"{"conditions":["#)
                    for (j, c) in codes.enumerated() {
                        if j > 0 { f.byte(UInt8(ascii: ",")) }
                        f.int(Int64(c))
                    }
                    f.raw(#"],"decimal_size":""#)
                } else {
                    f.raw(#"{"decimal_size":""#)
                }
                f.int(e.size)
                f.raw(#"","exchange":"#)
                f.int(Int64(e.exchange))
                f.raw(#","id":""#)
                f.int(e.sequence)
                f.raw(#"","participant_timestamp":"#)
                f.int(participant)
                f.raw(#","price":"#)
                f.fixed(e.price, decimals: d)
                f.raw(#","sequence_number":"#)
                f.int(e.sequence)
                f.raw(#","sip_timestamp":"#)
                f.int(e.timestampNs)
                f.raw(#","size":"#)
                f.int(e.size)
                f.raw(#","tape":"#)
                f.int(Int64(spec.tape))
                if e.flags & SimEvent.trf != 0 {
                    f.raw(#","trf_id":"#)
                    f.int(Int64(e.trfID))
                    f.raw(#","trf_timestamp":"#)
                    f.int(e.timestampNs - Int64(e.trfDelayNs))
                }
                f.byte(UInt8(ascii: "}"))
            case (.options, .trade):
                f.raw(e.flags & SimEvent.altCondition != 0 ? #"{"conditions":[233],"exchange":"# : #"{"conditions":[209],"exchange":"#)
                f.int(Int64(e.exchange))
                f.raw(#","participant_timestamp":"#)
                f.int(participant)
                f.raw(#","price":"#)
                f.fixed(e.price, decimals: d)
                f.raw(#","sip_timestamp":"#)
                f.int(e.timestampNs)
                f.raw(#","size":"#)
                f.int(e.size)
                f.byte(UInt8(ascii: "}"))
            case (.crypto, .trade):
                if e.flags & SimEvent.sellSide != 0 {
                    f.raw(#"{"conditions":[1],"exchange":"#)
                } else if e.flags & SimEvent.buySide != 0 {
                    f.raw(#"{"conditions":[2],"exchange":"#)
                } else {
                    f.raw(#"{"exchange":"#)
                }
                f.int(Int64(e.exchange))
                f.raw(#","id":""#)
                f.int(e.sequence)
                f.raw(#"","participant_timestamp":"#)
                f.int(e.timestampNs)
                f.raw(#","price":"#)
                f.fixed(e.price, decimals: d)
                f.raw(#","size":"#)
                f.fixed(e.size, decimals: 8)
                f.byte(UInt8(ascii: "}"))
            case (.stocks, _):
                f.raw(#"{"ask_exchange":"#)
                f.int(Int64(e.askExchange))
                f.raw(#","ask_price":"#)
                f.fixed(e.askPrice, decimals: d)
                f.raw(#","ask_size":"#)
                f.int(e.askSize)
                f.raw(#","bid_exchange":"#)
                f.int(Int64(e.bidExchange))
                f.raw(#","bid_price":"#)
                f.fixed(e.bidPrice, decimals: d)
                f.raw(#","bid_size":"#)
                f.int(e.bidSize)
                if e.flags & SimEvent.indicator != 0 { f.raw(#","indicators":[604]"#) }
                f.raw(#","participant_timestamp":"#)
                f.int(e.timestampNs - 20_000)
                f.raw(#","sequence_number":"#)
                f.int(e.sequence)
                f.raw(#","sip_timestamp":"#)
                f.int(e.timestampNs)
                f.raw(#","tape":"#)
                f.int(Int64(spec.tape))
                f.byte(UInt8(ascii: "}"))
            case (.options, _):
                f.raw(#"{"ask_exchange":"#)
                f.int(Int64(e.askExchange))
                f.raw(#","ask_price":"#)
                f.fixed(e.askPrice, decimals: d)
                f.raw(#","ask_size":"#)
                f.int(e.askSize)
                f.raw(#","bid_exchange":"#)
                f.int(Int64(e.bidExchange))
                f.raw(#","bid_price":"#)
                f.fixed(e.bidPrice, decimals: d)
                f.raw(#","bid_size":"#)
                f.int(e.bidSize)
                f.raw(#","sequence_number":"#)
                f.int(e.sequence)
                f.raw(#","sip_timestamp":"#)
                f.int(e.timestampNs)
                f.byte(UInt8(ascii: "}"))
            default:  // forex and crypto quotes
                f.raw(#"{"ask_exchange":"#)
                f.int(Int64(e.exchange))
                f.raw(#","ask_price":"#)
                f.fixed(e.askPrice, decimals: d)
                if spec.market == .crypto {
                    f.raw(#","ask_size":"#)
                    f.fixed(e.askSize, decimals: 8)
                }
                f.raw(#","bid_exchange":"#)
                f.int(Int64(e.exchange))
                f.raw(#","bid_price":"#)
                f.fixed(e.bidPrice, decimals: d)
                if spec.market == .crypto {
                    f.raw(#","bid_size":"#)
                    f.fixed(e.bidSize, decimals: 8)
                }
                f.raw(#","participant_timestamp":"#)
                f.int(e.timestampNs)
                f.byte(UInt8(ascii: "}"))
            }
        }
        f.text(#"],"status":"OK","request_id":""#)
        f.text(requestID)
        f.text("\"")
        if let nextURL {
            f.text(#","next_url":"#)
            f.text(jsonStringLiteral(nextURL))
        }
        f.text("}")
        return f.string
    }

    static func stockConditions(_ flags: UInt16) -> [Int] {
        var c: [Int] = []
        if flags & SimEvent.averagePrice != 0 { c.append(2) }
        if flags & SimEvent.iso != 0 { c.append(14) }
        if flags & SimEvent.oddLot != 0 { c.append(37) }
        if flags & SimEvent.tradeThroughExempt != 0 { c.append(41) }
        return c
    }

    // MARK: helpers

    static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func error(_ status: HTTPResponse.Status, _ id: String, _ message: String) -> Response {
        json(status, #"{"status":"ERROR","request_id":"\#(id)","error":\#(jsonStringLiteral(message))}"#)
    }

    static func notEntitled(_ id: String) -> Response {
        json(
            .forbidden,
            #"{"status":"NOT_AUTHORIZED","request_id":"\#(id)","message":"You are not entitled to this data. Please upgrade your plan at https://massive.com/pricing"}"#)
    }

    static func encodeCursor(_ s: String) -> String {
        Data(s.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeCursor(_ s: Substring) -> [Substring: Substring]? {
        var b64 = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard let data = Data(base64Encoded: b64), let text = String(data: data, encoding: .utf8) else { return nil }
        var out: [Substring: Substring] = [:]
        for pair in text.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { return nil }
            out[kv[0]] = kv[1]
        }
        return out
    }

    static func percentDecode(_ s: Substring) -> String {
        guard s.contains("%") else { return String(s) }
        return s.removingPercentEncoding ?? String(s)
    }

    static func percentEncode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }
}
