import Archive
import MassiveREST
import TickBusCore

/// The span of a fetch in whole UTC seconds since the epoch, both ends included.
public struct FetchRange: Sendable, Hashable {
    public let first: Int64
    public let last: Int64

    public init(first: Int64, last: Int64) throws(HistoryFetchError) {
        guard first <= last else {
            throw .endBeforeStart(start: UTCTime.dateTime(seconds: first, separator: " "),
                                  end: UTCTime.dateTime(seconds: last, separator: " "))
        }
        self.first = first
        self.last = last
    }

    /// `--start` and `--end` (`YYYY-MM-DD`) as UTC days: 00:00:00 of `start` through 23:59:59
    /// of `end`, so the month files are whole UTC months.
    public init(start: String, end: String) throws(HistoryFetchError) {
        guard let from = CalendarDate(parsing: start) else { throw .badDate(option: "--start", text: start) }
        guard let to = CalendarDate(parsing: end) else { throw .badDate(option: "--end", text: end) }
        guard from <= to else { throw .endBeforeStart(start: start, end: end) }
        first = from.daysSinceEpoch * 86_400
        last = (to.daysSinceEpoch + 1) * 86_400 - 1
    }

    /// The UTC months the range touches, each clipped to the range.
    var months: [MonthSpan] {
        var spans: [MonthSpan] = []
        var (year, month) = ArchivePath.month(of: first * 1_000_000_000)
        while true {
            let start = UTCTime.daysSinceEpoch(year: Int64(year), month: Int64(month), day: 1) * 86_400
            guard start <= last else { return spans }
            let (nextYear, nextMonth) = month == 12 ? (year + 1, 1) : (year, month + 1)
            let end = UTCTime.daysSinceEpoch(year: Int64(nextYear), month: Int64(nextMonth), day: 1) * 86_400 - 1
            spans.append(MonthSpan(year: year, month: month, first: max(first, start), last: min(last, end),
                                   monthFirst: start, monthLast: end))
            (year, month) = (nextYear, nextMonth)
        }
    }
}

/// One UTC month of a fetch, clipped to the fetch's range.
struct MonthSpan: Sendable, Hashable {
    let year: Int
    let month: Int
    /// First and last second of the month within the range.
    let first: Int64
    let last: Int64
    /// First and last second of the whole month.
    let monthFirst: Int64
    let monthLast: Int64

    var seconds: Int64 { last - first + 1 }
}
