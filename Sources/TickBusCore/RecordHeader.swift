/// The kind byte of a record.
public enum RecordKind: UInt8, Sendable, CaseIterable {
    case trade = 1, quote = 2, bar = 3, status = 4, heartbeat = 5

    /// The name used in JSON output.
    public var name: String {
        switch self {
        case .trade: "trade"
        case .quote: "quote"
        case .bar: "bar"
        case .status: "status"
        case .heartbeat: "heartbeat"
        }
    }
}

/// The asset class a record belongs to (Massive's market path).
public enum Market: UInt8, Sendable, CaseIterable {
    case unknown = 0, stocks = 1, options = 2, indices = 3, forex = 4, crypto = 5, futures = 6

    public var name: String {
        switch self {
        case .unknown: "unknown"
        case .stocks: "stocks"
        case .options: "options"
        case .indices: "indices"
        case .forex: "forex"
        case .crypto: "crypto"
        case .futures: "futures"
        }
    }
}

/// Record flags (one byte on the wire).
public struct RecordFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// From a REST backfill, not the live stream.
    public static let historical = RecordFlags(rawValue: 1 << 0)
    /// Replaces an earlier bar with the same symbol and start.
    public static let revision = RecordFlags(rawValue: 1 << 1)
    /// Computed by tickbus, not received from upstream.
    public static let local = RecordFlags(rawValue: 1 << 2)
    /// Arrived after its bar had closed.
    public static let late = RecordFlags(rawValue: 1 << 3)

    /// Every flag wire format v1 defines.
    public static let all: RecordFlags = [.historical, .revision, .local, .late]

    /// The set flags' names, e.g. `["historical", "revision"]`.
    public var names: [String] {
        var result: [String] = []
        if contains(.historical) { result.append("historical") }
        if contains(.revision) { result.append("revision") }
        if contains(.local) { result.append("local") }
        if contains(.late) { result.append("late") }
        return result
    }
}

/// The fields every record starts with.
public struct RecordHeader: Hashable, Sendable {
    public var market: Market
    public var flags: RecordFlags
    /// The publisher's epoch, set by the publisher; changes when it restarts.
    public var epoch: UInt32
    /// Per-topic sequence number within the epoch, set by the publisher; starts at 1.
    public var sequence: UInt64
    /// Event time, ns since the Unix epoch (UTC). For bars, the bar's start.
    public var tsEvent: Int64
    /// When tickbus received or made the record, ns since the Unix epoch.
    public var tsRecv: Int64
    /// The instrument, or the process name for status and heartbeat records.
    public var symbol: Symbol

    public init(
        market: Market = .unknown, flags: RecordFlags = [], epoch: UInt32 = 0, sequence: UInt64 = 0,
        tsEvent: Int64, tsRecv: Int64, symbol: Symbol
    ) {
        self.market = market
        self.flags = flags
        self.epoch = epoch
        self.sequence = sequence
        self.tsEvent = tsEvent
        self.tsRecv = tsRecv
        self.symbol = symbol
    }
}
