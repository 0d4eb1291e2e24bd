import MassiveREST
import Testing

/// Times past what 64-bit ns since the epoch hold (1677-09-21T00:12:43Z to 2262-04-11T23:47:16Z).
/// `backfill` requests parse their bounds with `HistoryBound(parsing:)`: these trapped on an
/// arithmetic overflow (found by `tickbus-fuzz control`; Tests/fuzz/regressions/control/).
@Suite("History bounds at the ends of 64-bit time")
struct HistoryBoundRangeTests {
    @Test("times 64-bit ns cannot hold are refused as bad times", arguments: [
        "9999-12-31", "2262-04-12", "1677-09-21", "0001-01-01",
        "9999-12-31T00:00:00Z", "2262-04-11T23:47:16.854775808Z", "1677-09-21T00:12:43.145224191Z",
        "0001-01-01T00:00:00+23:59",
        "99999999999", "9223372037", "9223372036855", "9223372036854776",
    ])
    func outOfRange(_ text: String) {
        #expect(throws: HistoryQueryError.badTime(text)) { try HistoryBound(parsing: text) }
    }

    @Test("the last and first times 64-bit ns hold still parse")
    func ends() throws {
        #expect(try HistoryBound(parsing: "2262-04-11T23:47:16.854775807Z") == .instant(nanoseconds: .max))
        #expect(try HistoryBound(parsing: "1677-09-21T00:12:43.145224192Z") == .instant(nanoseconds: .min))
        #expect(try HistoryBound(parsing: "9223372036") == .instant(nanoseconds: 9_223_372_036_000_000_000))
        #expect(try HistoryBound(parsing: "9223372036854775807") == .instant(nanoseconds: .max))
        let last = try HistoryBound(parsing: "2262-04-11")
        #expect(last.earliest == 9_223_286_400_000_000_000)
        #expect(last.latest == .max, "29 h after the day starts is past Int64.max: clamped")
        let first = try HistoryBound(parsing: "1677-09-22")
        #expect(first.earliest == -9_223_286_400_000_000_000)
    }

    @Test("dates made in code out of 64-bit reach clamp instead of trapping")
    func clamped() throws {
        let future = HistoryBound.date(try #require(CalendarDate(year: 9999, month: 12, day: 31)))
        #expect(future.earliest == .max)
        #expect(future.latest == .max)
        let past = HistoryBound.date(try #require(CalendarDate(year: 1, month: 1, day: 1)))
        #expect(past.earliest == .min)
        #expect(past.latest == .min + 29 * 3_600 * 1_000_000_000 - 1)
        // A query over them compares as dates and so is made.
        let query = try HistoryQuery(symbol: "AAPL", market: .stocks, kind: .dayBars, from: past, to: future)
        #expect(query.path(limit: 10).contains("/0001-01-01/9999-12-31?"))
    }
}
