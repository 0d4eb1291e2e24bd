/// Up to four trade condition codes, stored inline as four little-endian `UInt16`s.
public struct Conditions: Hashable, Sendable {
    /// The most a record holds (a SIP sale condition has four positions).
    public static let capacity = 4
    /// Code `i` in bits `16 i ..< 16 i + 16`; unused slots are zero.
    public private(set) var packed: UInt64 = 0
    /// How many codes are set.
    public var count: Int { Int(storedCount) }
    private var storedCount: UInt8 = 0

    public init() {}

    /// Stores `codes`; fails if there are more than four.
    public init(_ codes: [UInt16]) throws(RecordError) {
        for code in codes {
            guard append(code) else { throw .tooManyConditions(codes.count) }
        }
    }

    /// Rebuilds conditions from their wire form; nil if `count` exceeds four or an unused slot
    /// is not zero.
    public init?(packed: UInt64, count: Int) {
        guard count <= Conditions.capacity else { return nil }
        let used: UInt64 = count == 4 ? ~0 : (1 << UInt64(16 * count)) &- 1
        guard packed & ~used == 0 else { return nil }
        self.packed = packed
        storedCount = UInt8(count)
    }

    /// Adds a code; returns `false` (and stores nothing) when four are already set.
    @discardableResult
    public mutating func append(_ code: UInt16) -> Bool {
        guard storedCount < Conditions.capacity else { return false }
        packed |= UInt64(code) << UInt64(16 * storedCount)
        storedCount += 1
        return true
    }

    public subscript(index: Int) -> UInt16 {
        precondition(index >= 0 && index < count)
        return UInt16(truncatingIfNeeded: packed >> UInt64(16 * index))
    }

    public var codes: [UInt16] { (0..<count).map { self[$0] } }
}

/// How important a status record is.
public enum StatusLevel: UInt8, Sendable, CaseIterable {
    case info = 0, warning = 1, error = 2

    public var name: String {
        switch self {
        case .info: "info"
        case .warning: "warning"
        case .error: "error"
        }
    }
}

/// A status report from a process (`S.ingest`): connection changes, gaps, job progress.
/// `header.symbol` is the process name; `json` is one UTF-8 JSON object.
public struct Status: Hashable, Sendable {
    public var header: RecordHeader
    public var level: StatusLevel
    /// The body, never longer than ``WireFormat/maxStatusBody`` bytes, so every status encodes.
    public private(set) var json: String

    /// A `json` longer than ``WireFormat/maxStatusBody`` bytes is replaced by a body that says
    /// so: `{"event":…,"truncated":true,"bytes":N,"head":"…"}`, with the original's `event` and
    /// as much of its text as fits.
    public init(header: RecordHeader, level: StatusLevel, json: String) {
        self.header = header
        self.level = level
        self.json = json.utf8.count <= WireFormat.maxStatusBody ? json : Status.truncated(json)
    }

    private static func truncated(_ json: String) -> String {
        var body = JSONObject()
        if let event = (try? JSONValue.parse(json))?["event"]?.string, event.utf8.count <= 64 {
            body.add("event", string: event)
        }
        body.add("truncated", raw: "true")
        body.add("bytes", raw: String(json.utf8.count))
        // `,"head":` and the two quotes around the text.
        let room = WireFormat.maxStatusBody - body.text.utf8.count - 10
        body.add("head", string: JSONObject.prefix(of: json, quotedLength: room))
        return body.text
    }
}

/// Any record that travels on the bus.
public enum Record: Hashable, Sendable {
    case trade(Trade)
    case quote(Quote)
    case bar(Bar)
    case status(Status)
    case heartbeat(Heartbeat)

    public var kind: RecordKind {
        switch self {
        case .trade: .trade
        case .quote: .quote
        case .bar: .bar
        case .status: .status
        case .heartbeat: .heartbeat
        }
    }

    public var header: RecordHeader {
        get {
            switch self {
            case .trade(let r): r.header
            case .quote(let r): r.header
            case .bar(let r): r.header
            case .status(let r): r.header
            case .heartbeat(let r): r.header
            }
        }
        set {
            switch self {
            case .trade(var r): r.header = newValue; self = .trade(r)
            case .quote(var r): r.header = newValue; self = .quote(r)
            case .bar(var r): r.header = newValue; self = .bar(r)
            case .status(var r): r.header = newValue; self = .status(r)
            case .heartbeat(var r): r.header = newValue; self = .heartbeat(r)
            }
        }
    }
}

/// Why a record cannot be built or encoded.
public enum RecordError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooManyConditions(Int)
    case invalidInterval(Int64)

    public var description: String {
        switch self {
        case .tooManyConditions(let n): "\(n) trade conditions, more than the \(Conditions.capacity) a record holds"
        case .invalidInterval(let s): "bar interval of \(s) s is not a positive number of seconds below 2^32"
        }
    }
}
