import JSONText
import TickBusCore

/// A status message from Massive (`{"ev":"status","status":"auth_success","message":"authenticated"}`).
public struct MassiveStatus: Hashable, Sendable {
    public var status: String
    public var message: String

    public init(status: String, message: String) {
        self.status = status
        self.message = message
    }
}

/// One element of a Massive frame, as the decoder hands it on.
public enum MassiveEvent: Hashable, Sendable {
    /// A market event, normalised into a record (without epoch and sequence, which the
    /// publisher sets).
    case record(Record)
    case status(MassiveStatus)
}

/// Why an element of a frame was not turned into a record.
public enum DecodeProblem: String, Sendable, CaseIterable {
    /// The frame is not JSON (or is truncated); the events before the fault were kept.
    case malformedJSON = "malformed_json"
    /// A binary WebSocket frame (Massive sends JSON text only).
    case binaryFrame = "binary_frame"
    /// A message over the size limit: the connection was closed (1009) and made again.
    case messageTooLarge = "message_too_large"
    /// The frame is JSON but not an array or object of events.
    case notEvents = "not_events"
    /// An element without `ev`.
    case missingEv = "missing_ev"
    /// An event without a field it needs (symbol, price, time).
    case missingField = "missing_field"
    /// A field of the wrong type or a number that does not parse.
    case badValue = "bad_value"
    /// A symbol that is not 1–24 printable ASCII bytes.
    case badSymbol = "bad_symbol"
    /// A trade with more condition codes than a record holds; the first four were kept.
    case conditionsTruncated = "conditions_truncated"
    /// A trade id longer than a record holds; the trade was kept without it.
    case tradeIDTooLong = "trade_id_too_long"
    /// A number that parses but does not fit its field: a time outside 1677–2262, a tape over
    /// 255, an exchange over 65535, a negative trade count, a size beyond a double's range.
    case outOfRange = "out_of_range"
}

/// What a decoder has seen, for heartbeats and status replies.
public struct DecodeCounters: Sendable, Equatable {
    public init() {}

    public var frames: UInt64 = 0
    public var events: UInt64 = 0
    public var records: UInt64 = 0
    public var statuses: UInt64 = 0
    /// Problems by reason.
    public var problems: [DecodeProblem: UInt64] = [:]
    /// Events tickbus does not publish (LULD, NOI, FMV, LV, XL2, unknown codes), by `ev`.
    public var unpublished: [String: UInt64] {
        Dictionary(uniqueKeysWithValues: unpublishedCodes.map { (EventCode.name($0.key), $0.value) })
    }

    var unpublishedCodes: [UInt64: UInt64] = [:]

    /// Distinct `ev` codes counted by name; further unknown codes (an upstream can send any
    /// number) are counted together as `(other)`, so the counters and their status stay small.
    public static let maxUnpublishedCodes = 32

    mutating func countUnpublished(_ code: UInt64, _ count: UInt64 = 1) {
        let named = unpublishedCodes.count - (unpublishedCodes[EventCode.other] == nil ? 0 : 1)
        let key = unpublishedCodes[code] != nil || named < Self.maxUnpublishedCodes ? code : EventCode.other
        unpublishedCodes[key, default: 0] += count
    }

    public var problemTotal: UInt64 { problems.values.reduce(0, +) }

    /// Adds another set of counts to these.
    public mutating func add(_ other: DecodeCounters) {
        frames += other.frames
        events += other.events
        records += other.records
        statuses += other.statuses
        if !other.problems.isEmpty { problems.merge(other.problems, uniquingKeysWith: +) }
        for (code, count) in other.unpublishedCodes { countUnpublished(code, count) }
    }
}

/// Decodes Massive WebSocket frames into records with a byte-level scanner: no Foundation, no
/// allocation per event (status messages excepted). Events are keyed on (market, `ev`): the same
/// code means different fields in different markets.
///
/// | market | events → records |
/// |---|---|
/// | stocks, options, futures | `T` → trade, `Q` → quote, `A` → 1 s bar, `AM` → 1 min bar |
/// | indices | `V` → trade (price = value, size NaN), `A`, `AM` → bars without volume or VWAP |
/// | forex | `C` → quote (sizes NaN), `CAS` → 1 s bar, `CA` → 1 min bar |
/// | crypto | `XT` → trade, `XQ` → quote, `XAS` → 1 s bar, `XA` → 1 min bar |
///
/// `LULD`, `NOI`, `FMV`, `LV` and `XL2` are counted in ``DecodeCounters/unpublished``, as are
/// unknown codes. Timestamps become ns by magnitude (Massive mixes ms, µs and ns). A bad element
/// is counted under its ``DecodeProblem`` and skipped; the frame's other elements still decode.
public struct MassiveDecoder: Sendable {
    public let market: Market
    public private(set) var counters = DecodeCounters()
    private var fields = JSONFieldTable<EventField>()
    /// The market's published channels, by packed code.
    private let routes: [Route]

    private struct Route {
        let code: UInt64
        let kind: TopicKind
        let symbol: EventField
    }

    public init(market: Market) {
        self.market = market
        routes = MassiveChannel.all(market).compactMap { channel in
            channel.kind.map { Route(code: EventCode.pack(channel.code), kind: $0, symbol: channel.symbol) }
        }
    }

    /// Decodes one text frame and passes each event to `sink`, in frame order.
    /// `receivedAt` (ns since the epoch) becomes each record's `ts_recv`.
    public mutating func decode(_ frame: UnsafeRawBufferPointer, receivedAt: Int64, _ sink: (MassiveEvent) -> Void) {
        counters.frames += 1
        var json = JSONScanner(frame)
        switch json.peek() {
        case UInt8(ascii: "["):
            json.index += 1
            if json.consume(UInt8(ascii: "]")) { return }
            while true {
                guard json.peek() == UInt8(ascii: "{") else {
                    note(json.atEnd ? .malformedJSON : .notEvents)
                    return
                }
                guard element(&json, frame, receivedAt, sink) else { return }
                if json.consume(UInt8(ascii: ",")) { continue }
                if json.consume(UInt8(ascii: "]")) { return }
                note(.malformedJSON)
                return
            }
        case UInt8(ascii: "{"):
            _ = element(&json, frame, receivedAt, sink)
        case 0:
            note(.malformedJSON)
        default:
            note(.notEvents)
        }
    }

    /// Decodes one object; returns false when the frame cannot be walked any further.
    private mutating func element(
        _ json: inout JSONScanner, _ frame: UnsafeRawBufferPointer, _ receivedAt: Int64, _ sink: (MassiveEvent) -> Void
    ) -> Bool {
        counters.events += 1
        do {
            try fields.read(&json)
        } catch {
            note(.malformedJSON)
            return false
        }
        do {
            if let event = try event(EventView(text: frame, fields: fields), receivedAt) { sink(event) }
        } catch {
            note(error)
        }
        return true
    }

    /// Counts a binary frame (Massive sends text only).
    public mutating func noteBinaryFrame() {
        counters.frames += 1
        note(.binaryFrame)
    }

    /// Counts a message refused for its size (the connection is then closed).
    public mutating func noteMessageTooLarge() {
        note(.messageTooLarge)
    }

    /// Starts counting from zero (after the counts were added elsewhere).
    public mutating func resetCounters() {
        counters = DecodeCounters()
    }

    private mutating func note(_ problem: DecodeProblem) {
        counters.problems[problem, default: 0] += 1
    }

    /// Builds the event the fields describe, or nil for one that is counted but not published.
    private mutating func event(_ view: EventView, _ receivedAt: Int64) throws(DecodeProblem) -> MassiveEvent? {
        guard let ev = view.fields[.ev], ev.kind == .string, !ev.escaped else { throw .missingEv }
        let code = EventCode.pack(view.bytes(ev))
        if code == EventCode.status {
            counters.statuses += 1
            return .status(MassiveStatus(status: view.string(.status), message: view.string(.message)))
        }
        guard let route = routes.first(where: { $0.code == code }) else {
            counters.countUnpublished(code)
            return nil
        }
        let record: Record
        switch route.kind {
        case .trade where market == .indices:
            record = .trade(try view.indexValue(receivedAt))
        case .trade:
            record = .trade(try view.trade(market, receivedAt, symbol: route.symbol, size: market == .stocks ? .ds : nil, cuts: &counters.problems))
        case .quote where market == .forex:
            record = .quote(try view.forexQuote(receivedAt))
        case .quote:
            record = .quote(try view.quote(market, receivedAt, symbol: route.symbol))
        case .secondBar:
            record = .bar(try view.bar(market, receivedAt, interval: .second, symbol: route.symbol))
        case .minuteBar:
            record = .bar(try view.bar(market, receivedAt, interval: .minute, symbol: route.symbol))
        case .bar, .status, .heartbeat:
            counters.countUnpublished(code)
            return nil
        }
        counters.records += 1
        return .record(record)
    }

    private mutating func note(_ problem: any Error) {
        note(problem as? DecodeProblem ?? .badValue)
    }
}

/// Massive event codes packed into an integer (up to eight ASCII bytes), for switching.
enum EventCode {
    static func pack(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard bytes.count <= 8 else { return UInt64.max }
        var value: UInt64 = 0
        for (i, b) in bytes.enumerated() { value |= UInt64(b) << UInt64(8 * i) }
        return value
    }

    static func pack(_ text: String) -> UInt64 {
        var text = text
        return text.withUTF8 { pack(UnsafeRawBufferPointer($0)) }
    }

    /// Unknown codes past ``DecodeCounters/maxUnpublishedCodes``; no packed code of 8 bytes or
    /// fewer has this value (its bytes are not UTF-8).
    static let other = UInt64.max - 1

    static func name(_ code: UInt64) -> String {
        guard code != .max else { return "(long code)" }
        guard code != other else { return "(other)" }
        var bytes: [UInt8] = []
        var rest = code
        while rest != 0 { bytes.append(UInt8(truncatingIfNeeded: rest)); rest >>= 8 }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func code(_ text: StaticString) -> UInt64 {
        pack(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    static let status = code("status")
}
