import Testing
import TickBusCore

@Suite struct UTCTimeTests {
    static let second: Int64 = 1_000_000_000

    static let isoCases: [(Int64, String)] = [
        (0, "1970-01-01T00:00:00Z"),
        (1, "1970-01-01T00:00:00.000000001Z"),
        (-1, "1969-12-31T23:59:59.999999999Z"),
        (-second, "1969-12-31T23:59:59Z"),
        (-second / 2, "1969-12-31T23:59:59.500Z"),
        (-86_400 * second, "1969-12-31T00:00:00Z"),
        (1_704_187_800 * second, "2024-01-02T09:30:00Z"),
        (1_704_187_800 * second + 123_000_000, "2024-01-02T09:30:00.123Z"),
        (1_704_187_800 * second + 120_000_000, "2024-01-02T09:30:00.120Z"),
        (1_704_187_800 * second + 123_456_000, "2024-01-02T09:30:00.123456Z"),
        (1_704_187_800 * second + 123_456_789, "2024-01-02T09:30:00.123456789Z"),
        (1_704_187_800 * second + 1_000, "2024-01-02T09:30:00.000001Z"),
        (1_704_187_800 * second + 100, "2024-01-02T09:30:00.000000100Z"),
        (1_704_187_800 * second + 10_000_000, "2024-01-02T09:30:00.010Z"),
        (1_709_164_800 * second, "2024-02-29T00:00:00Z"),
        (1_709_210_096 * second, "2024-02-29T12:34:56Z"),
        (1_709_251_199 * second, "2024-02-29T23:59:59Z"),
        (1_709_251_200 * second, "2024-03-01T00:00:00Z"),
        (951_782_400 * second, "2000-02-29T00:00:00Z"),
        (-2_203_977_600 * second, "1900-02-28T00:00:00Z"),
        (-2_203_891_200 * second, "1900-03-01T00:00:00Z"),
        (.max, "2262-04-11T23:47:16.854775807Z"),
        (.min, "1677-09-21T00:12:43.145224192Z"),
    ]

    @Test(arguments: isoCases)
    func iso8601(_ nanoseconds: Int64, _ text: String) {
        #expect(UTCTime.iso8601(nanoseconds: nanoseconds) == text)
    }

    @Test func dateTime() {
        #expect(UTCTime.dateTime(seconds: 1_704_187_800, separator: " ") == "2024-01-02 09:30:00")
        #expect(UTCTime.dateTime(seconds: -1, separator: "T") == "1969-12-31T23:59:59")
        #expect(UTCTime.dateTime(seconds: -62_135_596_800, separator: " ") == "0001-01-01 00:00:00")
        #expect(UTCTime.dateTime(seconds: 253_402_300_799, separator: " ") == "9999-12-31 23:59:59")
    }

    @Test func civilDate() {
        #expect(UTCTime.civilDate(daysSinceEpoch: 0) == (1970, 1, 1))
        #expect(UTCTime.civilDate(daysSinceEpoch: -1) == (1969, 12, 31))
        #expect(UTCTime.civilDate(daysSinceEpoch: 19782) == (2024, 2, 29))
        #expect(UTCTime.civilDate(daysSinceEpoch: 11016) == (2000, 2, 29))
    }

    /// Consecutive days are consecutive dates (compared against a simple calendar walk).
    @Test func civilDateAgreesWithCalendarWalk() {
        func isLeap(_ y: Int64) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }
        func daysIn(_ y: Int64, _ m: Int64) -> Int64 {
            [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][Int(m - 1)]
        }
        var (y, m, d): (Int64, Int64, Int64) = (1900, 1, 1)
        var day: Int64 = -25567  // 1900-01-01
        while y < 2101 {
            let got = UTCTime.civilDate(daysSinceEpoch: day)
            #expect(got == (y, m, d), "day \(day)")
            if got != (y, m, d) { return }
            day += 1
            d += 1
            if d > daysIn(y, m) { d = 1; m += 1 }
            if m > 12 { m = 1; y += 1 }
        }
    }
}
