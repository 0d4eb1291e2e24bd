import TickBusCore

/// The same rows as ``TickBatch`` builds, as plain ``KValue`` columns: the slow, obvious
/// mapping from records to the schema, used to check the fast path and to write samples.
public enum TickRows {
    static func price(_ p: Price) -> Double { p.isNull ? KNull.float : p.doubleValue }
    static func ts(_ ns: Int64) -> Int64 { KEpoch.timestamp(unixNanoseconds: ns) }

    static func head(_ headers: [RecordHeader]) -> [KValue] {
        [
            .symbols(headers.map(\.symbol.description)),
            .vector(.timestamp, .longs(headers.map { ts($0.tsEvent) })),
            .vector(.timestamp, .longs(headers.map { ts($0.tsRecv) })),
        ]
    }

    /// Trade columns after `time`, in schema order.
    public static func columns(_ t: [Trade]) -> [KValue] {
        head(t.map(\.header)) + [
            .vector(.float, .floats(t.map { price($0.price) })),
            .vector(.float, .floats(t.map(\.size))),
            .vector(.short, .shorts(t.map { Int16(truncatingIfNeeded: $0.exchange) })),
            .vector(.short, .shorts(t.map { Int16($0.tape) })),
            .list(t.map { .vector(.short, .shorts($0.conditions.codes.map { Int16(bitPattern: $0) })) }),
            .list(t.map { .string($0.tradeID.description) }),
            .vector(.long, .longs(t.map(\.upstreamSequence))),
        ]
    }

    /// Quote columns after `time`.
    public static func columns(_ q: [Quote]) -> [KValue] {
        head(q.map(\.header)) + [
            .vector(.float, .floats(q.map { price($0.bidPrice) })),
            .vector(.float, .floats(q.map { price($0.askPrice) })),
            .vector(.float, .floats(q.map(\.bidSize))),
            .vector(.float, .floats(q.map(\.askSize))),
            .vector(.short, .shorts(q.map { Int16(truncatingIfNeeded: $0.bidExchange) })),
            .vector(.short, .shorts(q.map { Int16(truncatingIfNeeded: $0.askExchange) })),
            .vector(.short, .shorts(q.map { Int16(truncatingIfNeeded: $0.condition) })),
            .vector(.short, .shorts(q.map { Int16($0.tape) })),
            .vector(.long, .longs(q.map(\.upstreamSequence))),
        ]
    }

    /// Bar columns after `time`; `sources` are the bars' topic kinds.
    public static func columns(_ b: [Bar], sources: [String]) -> [KValue] {
        head(b.map(\.header)) + [
            .vector(.timespan, .longs(b.map(\.interval.nanoseconds))),
            .symbols(sources),
            .vector(.float, .floats(b.map { price($0.open) })),
            .vector(.float, .floats(b.map { price($0.high) })),
            .vector(.float, .floats(b.map { price($0.low) })),
            .vector(.float, .floats(b.map { price($0.close) })),
            .vector(.float, .floats(b.map(\.volume))),
            .vector(.float, .floats(b.map { price($0.vwap) })),
            .vector(.long, .longs(b.map { Int64(truncatingIfNeeded: $0.tradeCount) })),
            .vector(.boolean, .bytes(b.map { $0.header.flags.contains(.revision) ? 1 : 0 })),
        ]
    }

    /// ``(".u.upd";`table;columns)``.
    public static func upd(_ table: String, _ columns: [KValue]) -> KValue {
        .list([.string(".u.upd"), .symbol(table), .list(columns)])
    }

    /// ``(`upd;`table;table)`` with a `time` column of one value.
    public static func published(_ table: TickTable, name: String, time: Int64, _ columns: [KValue]) -> KValue {
        let rows = columns.first?.count ?? 0
        let all = [.vector(.timespan, .longs(Array(repeating: time, count: rows)))] + columns
        return .list([.symbol("upd"), .symbol(name), .table(columns: table.columns.map(\.name), values: all)])
    }
}
