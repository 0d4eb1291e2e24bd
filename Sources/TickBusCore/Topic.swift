/// The part of a topic before the first dot.
public enum TopicKind: Hashable, Sendable {
    /// `T`
    case trade
    /// `Q`
    case quote
    /// `A`: upstream 1-second bar.
    case secondBar
    /// `AM`: upstream 1-minute bar.
    case minuteBar
    /// `B<label>`: bar built by tickbus (or an upstream bar of another length).
    case bar(BarInterval)
    /// `S`
    case status
    /// `H`
    case heartbeat

    /// The kind's text: `T`, `Q`, `A`, `AM`, `B15s`, `S`, `H`.
    public var code: String {
        String(unsafeUninitializedCapacity: 1 + BarInterval.maxLabelSize) { write(into: UnsafeMutableRawBufferPointer($0), at: 0) }
    }

    /// Writes the kind's text at `offset` and returns its length: the one place topic kinds
    /// are spelled.
    @inline(__always)
    func write(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        switch self {
        case .trade: buffer[offset] = UInt8(ascii: "T")
        case .quote: buffer[offset] = UInt8(ascii: "Q")
        case .secondBar: buffer[offset] = UInt8(ascii: "A")
        case .minuteBar:
            buffer[offset] = UInt8(ascii: "A")
            buffer[offset + 1] = UInt8(ascii: "M")
            return 2
        case .bar(let interval):
            buffer[offset] = UInt8(ascii: "B")
            return 1 + interval.writeLabel(into: buffer, at: offset + 1)
        case .status: buffer[offset] = UInt8(ascii: "S")
        case .heartbeat: buffer[offset] = UInt8(ascii: "H")
        }
        return 1
    }

    /// A distinct number per kind, for hashing.
    var number: UInt64 {
        switch self {
        case .trade: 1
        case .quote: 2
        case .secondBar: 3
        case .minuteBar: 4
        case .status: 5
        case .heartbeat: 6
        case .bar(let interval): 7 | UInt64(interval.seconds) << 8
        }
    }

    /// Parses `T`, `Q`, `A`, `AM`, `B<label>`, `S` or `H`.
    public init?(code: some StringProtocol) {
        switch code {
        case "T": self = .trade
        case "Q": self = .quote
        case "A": self = .secondBar
        case "AM": self = .minuteBar
        case "S": self = .status
        case "H": self = .heartbeat
        default:
            guard code.first == "B", let interval = BarInterval(label: code.dropFirst()) else { return nil }
            self = .bar(interval)
        }
    }
}

/// A bus topic, `KIND.SYMBOL`: `T.AAPL`, `B15s.AAPL`, `T.BRK.B`, `S.ingest`.
/// The kind ends at the first dot; the symbol is everything after it.
public struct Topic: Hashable, Sendable, CustomStringConvertible {
    public var kind: TopicKind
    public var symbol: Symbol

    public init(kind: TopicKind, symbol: Symbol) {
        self.kind = kind
        self.symbol = symbol
    }

    /// Parses `KIND.SYMBOL`.
    public init(parsing text: some StringProtocol) throws(TopicError) {
        guard let dot = text.firstIndex(of: ".") else { throw .missingDot(String(text)) }
        guard let kind = TopicKind(code: text[..<dot]) else { throw .unknownKind(String(text[..<dot])) }
        let symbolText = text[text.index(after: dot)...]
        guard !symbolText.isEmpty else { throw .badSymbol(String(text), "empty") }
        do {
            symbol = try Symbol(symbolText)
        } catch {
            throw .badSymbol(String(text), error.description)
        }
        self.kind = kind
    }

    /// The topic a record is published under: trades `T`, quotes `Q`; bars `B<label>` when
    /// tickbus built them (LOCAL), otherwise `A` for 1 s, `AM` for 1 min, `B<label>` for others;
    /// status `S.<process>` and heartbeat `H.<process>`.
    public init(of record: Record) {
        switch record {
        case .trade(let r): self.init(kind: .trade, symbol: r.header.symbol)
        case .quote(let r): self.init(kind: .quote, symbol: r.header.symbol)
        case .bar(let r): self.init(kind: Topic.kind(of: r), symbol: r.header.symbol)
        case .status(let r): self.init(kind: .status, symbol: r.header.symbol)
        case .heartbeat(let r): self.init(kind: .heartbeat, symbol: r.header.symbol)
        }
    }

    static func kind(of bar: Bar) -> TopicKind {
        if !bar.header.flags.contains(.local) {
            if bar.interval == .second { return .secondBar }
            if bar.interval == .minute { return .minuteBar }
        }
        return .bar(bar.interval)
    }

    public var description: String {
        String(unsafeUninitializedCapacity: BusMessage.maxTopicSize) { write(into: UnsafeMutableRawBufferPointer($0)) }
    }

    /// Writes `KIND.SYMBOL` and returns its length (less than ``BusMessage/maxTopicSize``).
    @inline(__always)
    func write(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var n = kind.write(into: buffer, at: 0)
        buffer[n] = UInt8(ascii: ".")
        n += 1
        return n + symbol.write(into: buffer, at: n)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(tableHash)
    }

    /// A fast, unseeded hash of the topic, for tables keyed by topics in hot paths.
    public var tableHash: UInt64 {
        let mixed = (symbol.fingerprint ^ kind.number) &* 0x9E37_79B9_7F4A_7C15
        return mixed ^ (mixed >> 29)
    }

    /// The subscription prefix that matches exactly this topic: the topic and a space.
    public var exactPrefix: String { description + " " }
}

/// Why text is not a topic.
public enum TopicError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingDot(String)
    case unknownKind(String)
    case badSymbol(String, String)

    public var description: String {
        switch self {
        case .missingDot(let t): "topic \"\(t)\" has no dot: expected KIND.SYMBOL such as T.AAPL"
        case .unknownKind(let k): "unknown topic kind \"\(k)\": expected T, Q, A, AM, B<label>, S or H"
        case .badSymbol(let t, let why): "topic \"\(t)\" has a bad symbol: \(why)"
        }
    }
}
