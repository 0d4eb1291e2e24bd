import KDB
import TickBusCore

/// Compares the tables a tickerplant holds with `deploy/kdb/sym.q`'s, once per connection. A
/// tickerplant whose tables differ fails every `.u.upd` for them, and an async call's error never
/// comes back: this check is the only place such a loss can be seen.
struct SchemaCheck {
    /// The tables sent to, with the names used (`trade`, `tradeHist`, ...).
    let tables: [(table: TickTable, name: String)]

    /// The tables records passing `filters` can reach (none: every table).
    init(filters: [TopicFilter], separateHistorical: Bool) {
        let starts: [(TickTable, [String])] = [(.trade, ["T."]), (.quote, ["Q."]), (.bar, ["A.", "AM.", "B"])]
        let prefixes = filters.map { String(decoding: $0.prefix, as: UTF8.self) }
        let used = starts.filter { _, topics in
            prefixes.isEmpty || prefixes.contains { p in topics.contains { p.hasPrefix($0) || $0.hasPrefix(p) } }
        }.map(\.0)
        tables = used.map { ($0, $0.name()) } + (separateHistorical ? used.map { ($0, $0.name(historical: true)) } : [])
    }

    /// The sync query: each table's columns and `meta` types, or `` ` `` for a missing table.
    var query: String {
        "{x:(),x;x!{$[x in tables[];(cols x;exec t from meta x);`]}each x}" + tables.map { "`" + $0.name }.joined()
    }

    enum Outcome: Equatable {
        case matches
        /// One line per table that differs.
        case differs([String])
        /// The tickerplant's answer could not be read as tables (an error, another shape).
        case unverified(String)
    }

    /// Reads the tickerplant's reply to ``query``.
    func outcome(of reply: KValue) -> Outcome {
        if case .error(let text) = reply { return .unverified("the tickerplant answered '\(text)") }
        guard case .dictionary(let keys, let values, _) = reply, let names = keys.symbolList,
              let items = Self.items(values), names.count == items.count
        else { return .unverified("unexpected reply \(reply.summary)") }
        let found = Dictionary(zip(names, items), uniquingKeysWith: { first, _ in first })
        var problems: [String] = []
        for (table, name) in tables {
            guard let item = found[name] else { return .unverified("no entry for \(name) in the reply") }
            if let problem = Self.compare(table, name, item) { problems.append(problem) }
        }
        return problems.isEmpty ? .matches : .differs(problems)
    }

    /// The reply's values one per table; q makes a symbol vector of them when every table is
    /// missing.
    private static func items(_ values: KValue) -> [KValue]? {
        switch values {
        case .list(let items, _): items
        case .vector(.symbol, .symbols(let s), _): s.map { .atom(.symbol, .symbol($0)) }
        default: nil
        }
    }

    /// What differs between `item` (the reply for one table) and sym.q's `table`, or nil.
    private static func compare(_ table: TickTable, _ name: String, _ item: KValue) -> String? {
        guard case .list(let pair, _) = item, pair.count == 2, let columns = pair[0].symbolList, let types = pair[1].text
        else { return "\(name): no such table on the tickerplant" }
        let expected = table.columns
        let expectedNames = expected.map(\.name)
        guard columns == expectedNames else {
            return "\(name): columns are \(columns.joined(separator: ",")); sym.q's are \(expectedNames.joined(separator: ","))"
        }
        let found = Array(types)
        var wrong: [String] = []
        for (i, column) in expected.enumerated() where i < found.count {
            let t = found[i]
            let ok = column.type.map { t == $0.character } ?? (t == " " || t.isUppercase)
            if !ok { wrong.append("\(column.name) is \"\(t)\" not \"\(column.type.map { String($0.character) } ?? "list")\"") }
        }
        return wrong.isEmpty && found.count == expected.count ? nil : "\(name): types differ: \(wrong.joined(separator: ", "))"
    }
}

extension KValue {
    /// A short description for logs: the q type number and item count.
    fileprivate var summary: String {
        switch self {
        case .atom(let t, _): "(atom of type -\(t.rawValue))"
        case .vector(let t, _, _): "(vector of type \(t.rawValue), \(count) items)"
        case .list: "(general list, \(count) items)"
        case .dictionary: "(dictionary)"
        case .table: "(table)"
        case .error(let e): "('\(e))"
        default: "(type \(self))"
        }
    }
}
