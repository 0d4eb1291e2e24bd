import KDB
import TickBusCore

/// The tables `kdb serve` serves (live, then historical ones when kept apart) and its answers to
/// the requests q clients send, as tick.q would give them.
struct ServedTables: Sendable {
    let entries: [(table: TickTable, historical: Bool)]
    /// Their names, in the same order.
    let names: [String]

    init(separateHistorical: Bool) {
        entries = TickTable.allCases.map { ($0, false) }
            + (separateHistorical ? TickTable.allCases.map { ($0, true) } : [])
        names = entries.map { $0.table.name(historical: $0.historical) }
    }

    /// The reply to a request (sent only for a sync one), and the subscription it makes (tables,
    /// symbols or nil for all).
    func answer(_ request: KValue) -> (reply: KValue, subscription: (tables: [String], syms: [String]?)?) {
        guard let parsed = SubscriptionRequest(request) else { return (.error("nyi"), nil) }
        switch parsed {
        case .replay:
            return (.list([schemas(names), .list([.long(KNull.long), .symbol("")])]), (names, nil))
        case .subscribe(nil, let syms):
            return (schemas(names), (names, syms))
        case .subscribe(let table?, let syms):
            guard names.contains(table) else { return (.error(table), nil) }
            return (schemaPair(table), ([table], syms))
        case .pykxProbe(let name):
            // As q answers pykx's probe: `.q` and `.u` are namespaces, `.u.sub` a function; this
            // process evaluates nothing else, so other names are undefined (q's error is the name).
            switch name {
            case ".q", ".u": return (.atom(.symbol, .symbol("_pykx_ctx_marker")), nil)
            case ".u.sub": return (.atom(.symbol, .symbol("_pykx_fn_marker")), nil)
            default: return (.error(name), nil)
            }
        case .namespaceKeys(let name):
            // q lists a namespace's names after its leading null one; `.q` holds no function here.
            switch name {
            case ".q": return (.vector(.symbol, .symbols([""])), nil)
            case ".u": return (.vector(.symbol, .symbols(["", "sub"])), nil)
            default: return (.error(name), nil)
            }
        }
    }

    private func schemaPair(_ name: String) -> KValue {
        guard let entry = entries.first(where: { $0.table.name(historical: $0.historical) == name }) else { return .error(name) }
        return .list([.symbol(name), entry.table.emptyTable()])
    }

    private func schemas(_ names: [String]) -> KValue { .list(names.map(schemaPair)) }
}
