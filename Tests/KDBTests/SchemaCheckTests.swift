import KDB
import Testing
import TickBusCore
@testable import KDBService

/// `kdb publish`'s check of a tickerplant's tables: which tables it asks about, and how it reads
/// the replies q gives (process-level tests against a fake tickerplant are in Tests/kdb).
@Suite struct SchemaCheckTests {
    /// What q answers for one table: `(cols t; exec t from meta t)`.
    static func pair(_ table: TickTable, types: String? = nil, names: [String]? = nil) -> KValue {
        let columns = table.columns
        let chars = types ?? String(columns.map { $0.type.map(\.character) ?? " " })
        return .list([
            .vector(.symbol, .symbols(names ?? columns.map(\.name))),
            .vector(.char, .bytes(Array(chars.utf8))),
        ])
    }

    static func reply(_ entries: [(String, KValue)]) -> KValue {
        .dictionary(keys: .vector(.symbol, .symbols(entries.map(\.0))), values: .list(entries.map(\.1)))
    }

    @Test func asksOnlyForTheTablesItsTopicsReach() throws {
        let all = SchemaCheck(filters: [], separateHistorical: false)
        #expect(all.tables.map(\.name) == ["trade", "quote", "bar"])
        #expect(all.query == "{x:(),x;x!{$[x in tables[];(cols x;exec t from meta x);`]}each x}`trade`quote`bar")
        let trades = SchemaCheck(filters: [try TopicFilter("T.AAPL")], separateHistorical: true)
        #expect(trades.tables.map(\.name) == ["trade", "tradeHist"])
        let bars = SchemaCheck(filters: [try TopicFilter("B15s."), try TopicFilter("Q.")], separateHistorical: false)
        #expect(bars.tables.map(\.name) == ["quote", "bar"])
        #expect(SchemaCheck(filters: [try TopicFilter("*")], separateHistorical: false).tables.count == 3)
    }

    @Test func symQTablesMatchIncludingEmptyAndFilledListColumns() {
        let check = SchemaCheck(filters: [], separateHistorical: false)
        // Empty, cond and id are general lists (" "); once rows arrived, H and C.
        #expect(check.outcome(of: Self.reply([("trade", Self.pair(.trade)), ("quote", Self.pair(.quote)), ("bar", Self.pair(.bar))])) == .matches)
        let filled = Self.pair(.trade, types: "nsppffhhHCj")
        #expect(check.outcome(of: Self.reply([("trade", filled), ("quote", Self.pair(.quote)), ("bar", Self.pair(.bar))])) == .matches)
    }

    @Test func differencesAreNamedPerTable() {
        let check = SchemaCheck(filters: [], separateHistorical: false)
        var names = TickTable.trade.columns.map(\.name)
        names[5] = "qty"
        let outcome = check.outcome(of: Self.reply([
            ("trade", Self.pair(.trade, names: names)),
            ("quote", Self.pair(.quote, types: "nsppffffhhhhi")),  // seq as int
            ("bar", .atom(.symbol, .symbol(""))),
        ]))
        guard case .differs(let problems) = outcome else { Issue.record("\(outcome)"); return }
        #expect(problems.count == 3)
        #expect(problems[0].hasPrefix("trade: columns are") && problems[0].contains("qty"))
        #expect(problems[1] == #"quote: types differ: seq is "i" not "j""#)
        #expect(problems[2] == "bar: no such table on the tickerplant")
    }

    @Test func everyTableMissingComesAsASymbolVector() {
        let check = SchemaCheck(filters: [try! TopicFilter("T.")], separateHistorical: true)
        let reply = KValue.dictionary(keys: .vector(.symbol, .symbols(["trade", "tradeHist"])), values: .vector(.symbol, .symbols(["", ""])))
        #expect(check.outcome(of: reply) == .differs(["trade: no such table on the tickerplant", "tradeHist: no such table on the tickerplant"]))
    }

    @Test func anythingElseLeavesItUnverified() {
        let check = SchemaCheck(filters: [], separateHistorical: false)
        #expect(check.outcome(of: .error("access")) == .unverified("the tickerplant answered 'access"))
        #expect(check.outcome(of: .list([])) == .unverified("unexpected reply (general list, 0 items)"))
        let partial = Self.reply([("trade", Self.pair(.trade))])
        #expect(check.outcome(of: partial) == .unverified("no entry for quote in the reply"))
    }
}
