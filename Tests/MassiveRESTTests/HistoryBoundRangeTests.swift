import MassiveREST
import Testing

/// Times past what tickbus handles: calendar years 1678-2261 (every instant of them fits 64-bit ns)
/// and Unix times up to 2262-04-11T23:47:16Z.
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

    @Test("the ends of the supported range still parse")
    func ends() throws {
        #expect(try HistoryBound(parsing: "2261-12-31T23:59:59.999999999Z") == .instant(nanoseconds: 9_214_646_399_999_999_999))
        #expect(try HistoryBound(parsing: "9223372036") == .instant(nanoseconds: 9_223_372_036_000_000_000))
        #expect(try HistoryBound(parsing: "9223372036854775807") == .instant(nanoseconds: .max))
        let last = try HistoryBound(parsing: "2261-12-31")
        #expect(last.earliest == 9_214_560_000_000_000_000)
        #expect(last.latest == 9_214_560_000_000_000_000 + 29 * 3_600 * 1_000_000_000 - 1)
        let first = try HistoryBound(parsing: "1678-01-01")
        #expect(first.earliest == -9_214_560_000_000_000_000)
    }

    @Test("calendar dates are the years whose every instant fits 64-bit ns")
    func calendarDatesAreBounded() {
        #expect(CalendarDate(year: 9999, month: 12, day: 31) == nil)
        #expect(CalendarDate(year: 1, month: 1, day: 1) == nil)
        #expect(CalendarDate(year: 1678, month: 1, day: 1) != nil && CalendarDate(year: 2261, month: 12, day: 31) != nil)
    }
}
