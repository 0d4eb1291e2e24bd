import Archive
import MassiveREST

/// Where a month's fetch starts, given the file already there.
struct MonthPlan {
    /// First second to fetch.
    var first: Int64
    /// First second the file covers once the fetch is done.
    var coveredFrom: Int64
    /// The file's rows stay and new rows are appended after them.
    var keep: Bool
    /// Start (Unix seconds) of the last row kept.
    var lastStart: Int64?

    enum Decision: Equatable {
        /// Nothing to fetch: the month is complete, or its file already covers the span.
        case skip(rows: Int)
        /// Fetch from ``MonthPlan/first``; `note` tells the user something worth knowing.
        case `continue`(note: String?)
        /// The file cannot be continued (why): fetch the span into a new file.
        case refetch(String)
    }

    init(span: MonthSpan) {
        first = span.first
        coveredFrom = span.first
        keep = false
    }

    /// Plans the fetch of `span` after the rows of `existing`.
    mutating func resume(
        _ existing: ExistingMonth, span: MonthSpan, kind: HistoryKind, adjusted: Bool, interval: Int64
    ) -> Decision {
        guard existing.readable else { return .refetch("it is not a bars file (header or last row unreadable)") }
        let afterLastRow = existing.lastStart.map { $0 + interval } ?? Int64.min
        guard let record = existing.record else {
            // Written by another program, or the run stopped between the rename and the record.
            keep = true
            lastStart = existing.lastStart
            first = max(span.first, afterLastRow)
            return .continue(note: existing.lastStart == nil ? nil : "keeping the rows of a file without a fetch record")
        }
        guard record.timespan == kind.rawValue, record.adjusted == adjusted else {
            return .refetch("it holds \(record.adjusted ? "adjusted" : "unadjusted") \(record.timespan) bars")
        }
        guard let from = record.firstSecond, let to = record.lastSecond else { return .refetch("its fetch record is unreadable") }
        if record.complete || (from <= span.first && to >= span.last) { return .skip(rows: record.rows) }
        guard from <= span.first else { return .refetch("it starts later than this run") }
        keep = true
        coveredFrom = from
        lastStart = existing.lastStart
        first = max(to + 1, afterLastRow)
        return .continue(note: nil)
    }
}
