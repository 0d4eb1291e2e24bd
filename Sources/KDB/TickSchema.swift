import TickBusCore

/// The kdb+ tables tickbus fills, as declared in `deploy/kdb/sym.q`. Every table starts with
/// `time` (timespan, stamped by the tickerplant as tick.q does) and `sym`; the record's own
/// event time and receive time travel as full timestamps (`eventTime`, `recvTime`).
public enum TickTable: Int, CaseIterable, Sendable {
    case trade, quote, bar

    /// The table's name; HISTORICAL records use `<name>Hist` when they are kept apart.
    public func name(historical: Bool = false) -> String {
        let base = switch self {
        case .trade: "trade"
        case .quote: "quote"
        case .bar: "bar"
        }
        return historical ? base + "Hist" : base
    }

    /// Column names and q types, `time` first. A nil type is a general list column (`()`):
    /// `cond` holds one short vector per trade, `id` one string per trade.
    public var columns: [(name: String, type: KType?)] {
        let head: [(String, KType?)] = [
            ("time", .timespan), ("sym", .symbol), ("eventTime", .timestamp), ("recvTime", .timestamp),
        ]
        switch self {
        case .trade:
            return head + [
                ("price", .float), ("size", .float), ("exchange", .short), ("tape", .short),
                ("cond", nil), ("id", nil), ("seq", .long),
            ]
        case .quote:
            return head + [
                ("bid", .float), ("ask", .float), ("bsize", .float), ("asize", .float),
                ("bex", .short), ("aex", .short), ("cond", .short), ("tape", .short), ("seq", .long),
            ]
        case .bar:
            return head + [
                ("span", .timespan), ("src", .symbol), ("open", .float), ("high", .float),
                ("low", .float), ("close", .float), ("volume", .float), ("vwap", .float),
                ("trades", .long), ("rev", .boolean),
            ]
        }
    }

    /// The empty table (`sym` with the grouped attribute, as tick.q's `.u.sub` returns it).
    public func emptyTable() -> KValue {
        let cols = columns
        return .table(
            columns: cols.map(\.name),
            values: cols.map { col in
                guard let type = col.type else { return .list([]) }
                return .vector(type, KTickColumns.empty(type), attribute: col.name == "sym" ? .grouped : .none)
            })
    }
}

enum KTickColumns {
    static func empty(_ type: KType) -> KColumn {
        switch type.storage {
        case .byte: .bytes([])
        case .guid: .guids([])
        case .short: .shorts([])
        case .int: .ints([])
        case .long: .longs([])
        case .real: .reals([])
        case .float: .floats([])
        case .symbol: .symbols([])
        }
    }
}
