import KDB

/// What a q client asks a tickerplant for, parsed from the sync requests kdb+tick's clients send:
/// ``".u.sub[`trade;`]"``, ``".u.sub[`quote;`AAPL`MSFT]"``, r.q's
/// ``"(.u.sub[`;`];`.u `i`L)"``, or the list forms ``(`.u.sub;`trade;`)`` and
/// ``(".u.sub";`trade;`AAPL`MSFT)``; and the two queries pykx sends at connect.
enum SubscriptionRequest: Equatable {
    /// `.u.sub[table;syms]`: `table` nil for every table, `syms` nil for every symbol.
    case subscribe(table: String?, syms: [String]?)
    /// r.q's request: subscribe to everything, and ask for the log's count and name.
    case replay
    /// pykx's context probe (`pykx.QConnection` without `no_ctx=True`): what the name is, a
    /// namespace, a function or a value.
    case pykxProbe(String)
    /// ``("key"; `.name)``: a namespace's names (pykx asks for `.q`'s at connect).
    case namespaceKeys(String)

    /// The lambda pykx's `QContext.__getattr__` sends with a name (pykx/ctx.py).
    static let pykxProbeLambda =
        #"k){x:. x;$[99h<@x;:`$"_pykx_fn_marker";99h~@x;if[` in!x;if[(::)~x`;:`$"_pykx_ctx_marker"]]]x}"#

    /// Parses a request; nil when it is not one of the supported forms.
    init?(_ request: KValue) {
        if let text = request.text, case .vector(.char, _, _) = request {
            self.init(text: text)
            return
        }
        if case .list(let items, _) = request, items.count == 2, case .atom(.symbol, .symbol(let name)) = items[1],
           case .vector(.char, _, _) = items[0], let head = items[0].text {
            switch head {
            case Self.pykxProbeLambda: self = .pykxProbe(name); return
            case "key": self = .namespaceKeys(name); return
            default: return nil
            }
        }
        guard case .list(let items, _) = request, items.count == 3, items[0].text == ".u.sub",
            let table = items[1].symbolList, table.count == 1, let syms = items[2].symbolList
        else { return nil }
        self = .subscribe(table: table[0].isEmpty ? nil : table[0], syms: Self.symbols(syms))
    }

    init?(text: String) {
        let compact = text.filter { !$0.isWhitespace }
        if compact == "(.u.sub[`;`];`.u`i`L)" {
            self = .replay
            return
        }
        guard compact.hasPrefix(".u.sub["), compact.hasSuffix("]") else { return nil }
        let args = compact.dropFirst(7).dropLast().split(separator: ";", omittingEmptySubsequences: false)
        guard args.count == 2, let table = Self.symbolLiteral(args[0]), table.count == 1,
            let syms = Self.symbolLiteral(args[1])
        else { return nil }
        self = .subscribe(table: table[0].isEmpty ? nil : table[0], syms: Self.symbols(syms))
    }

    /// `` `a`b `` → ["a","b"]; `` ` `` → [""]; `` enlist`a `` → ["a"].
    static func symbolLiteral(_ text: Substring) -> [String]? {
        let body = text.hasPrefix("enlist") ? text.dropFirst(6) : text
        guard body.first == "`" else { return nil }
        let parts = body.dropFirst().split(separator: "`", omittingEmptySubsequences: false).map(String.init)
        guard parts.allSatisfy({ $0.allSatisfy { $0.isLetter || $0.isNumber || "._:/-".contains($0) } }) else { return nil }
        return parts
    }

    /// The null symbol means every symbol.
    static func symbols(_ s: [String]) -> [String]? {
        s == [""] ? nil : s.filter { !$0.isEmpty }
    }
}
