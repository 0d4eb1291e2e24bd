import Massive
import TickBusCore

/// One end of a history range, inclusive.
public enum HistoryBound: Sendable, Hashable, CustomStringConvertible {
    /// A calendar day, passed to Massive as `YYYY-MM-DD`: Massive applies the market's time
    /// zone (Eastern for stocks, options and indices, UTC for crypto).
    case date(CalendarDate)
    /// An instant in ns since the Unix epoch: sent as Unix ms to the aggregates endpoint and as
    /// ns to the v3 trades and quotes endpoints.
    case instant(nanoseconds: Int64)

    /// Parses user input: `YYYY-MM-DD`, an RFC 3339 time (`2025-03-04T14:30:00Z`,
    /// `2025-03-04T09:30:00.25-05:00`) or Unix time as an integer of at least 10 digits
    /// (seconds, ms, µs or ns by magnitude, as everywhere in tickbus; shorter integers are
    /// refused so `20250304` is not taken for 1970). Times that 64-bit nanoseconds since the
    /// epoch cannot hold (before 1677-09-22 or after 2262-04-11 UTC) are refused too.
    public init(parsing text: String) throws(HistoryQueryError) {
        if let date = CalendarDate(parsing: text) {
            guard HistoryBound.nanosecondRange.contains(date.startNanoseconds) else { throw .badTime(text) }
            self = .date(date)
        } else if let parsed = HistoryBound.rfc3339(Array(text.utf8)) {
            guard let ns = parsed else { throw .badTime(text) }
            self = .instant(nanoseconds: ns)
        } else if text.utf8.count >= 10, text.utf8.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }), let value = Int64(text) {
            guard let ns = HistoryBound.nanoseconds(byMagnitude: value) else { throw .badTime(text) }
            self = .instant(nanoseconds: ns)
        } else {
            throw .badTime(text)
        }
    }

    /// The starts of day that 64-bit ns hold: ``CalendarDate/startNanoseconds`` is `Int64.min` or
    /// `Int64.max` for the days out of reach.
    static let nanosecondRange = (Int64.min + 1)...(Int64.max - 1)

    public var description: String {
        switch self {
        case .date(let d): d.description
        case .instant(let ns): "\(ns) ns"
        }
    }

    /// The earliest instant the bound can mean, whatever zone Massive applies to a date
    /// (00:00 UTC of the day; `Int64.min` for a day before 64-bit ns reach, `Int64.max` after).
    public var earliest: Int64 {
        switch self {
        case .date(let d): d.startNanoseconds
        case .instant(let ns): ns
        }
    }

    /// The latest instant the bound can mean (a date ends at the latest at 00:00 of the next day
    /// in US Eastern time, 05:00 UTC); `Int64.max` when that is later than 64-bit ns reach.
    public var latest: Int64 {
        switch self {
        case .date(let d): d.startNanoseconds.addingSaturated(29 * 3_600 * 1_000_000_000 - 1)
        case .instant(let ns): ns
        }
    }

    /// The text of the bound in a REST path or query: the date, or the instant in ms or ns.
    func restText(milliseconds: Bool) -> String {
        switch self {
        case .date(let d): d.description
        case .instant(let ns): milliseconds ? String(ns.floorDivided(by: 1_000_000).0) : String(ns)
        }
    }

    /// Unix time of any magnitude in ns (``NumberText/nanoseconds(byMagnitude:)``'s rule), or nil
    /// when the ns do not fit in 64 bits (`99999999999` s is in the year 5138).
    static func nanoseconds(byMagnitude value: Int64) -> Int64? {
        let magnitude = value.magnitude
        let scale: Int64 = magnitude < 100_000_000_000 ? 1_000_000_000
            : magnitude < 100_000_000_000_000 ? 1_000_000 : magnitude < 100_000_000_000_000_000 ? 1_000 : 1
        let (ns, overflow) = value.multipliedReportingOverflow(by: scale)
        return overflow ? nil : ns
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` in ns since the epoch: nil when the text is not
    /// of that form, `.some(nil)` when it is but the time does not fit in 64-bit ns.
    private static func rfc3339(_ b: [UInt8]) -> Int64?? {
        guard b.count >= 20, let date = CalendarDate(parsing: String(decoding: b[0..<10], as: UTF8.self)),
              b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == UInt8(ascii: " "),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let hour = decimal(b[11..<13]), let minute = decimal(b[14..<16]), let second = decimal(b[17..<19]),
              hour < 24, minute < 60, second < 60
        else { return nil }
        var i = 19
        var fraction: Int64 = 0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            var scale: Int64 = 100_000_000
            let start = i
            while i < b.count, b[i] &- UInt8(ascii: "0") < 10 {
                fraction += Int64(b[i] - UInt8(ascii: "0")) * scale
                scale /= 10
                i += 1
            }
            guard i > start, i - start <= 9 else { return nil }
        }
        guard i < b.count else { return nil }
        var offsetSeconds: Int64 = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard b.count == i + 6, b[i + 3] == UInt8(ascii: ":"),
                  let h = decimal(b[i + 1..<i + 3]), let m = decimal(b[i + 4..<i + 6]), h < 24, m < 60
            else { return nil }
            offsetSeconds = Int64(h * 3600 + m * 60) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        default:
            return nil
        }
        guard i == b.count else { return nil }
        let seconds = date.daysSinceEpoch * 86_400 + Int64(hour * 3600 + minute * 60 + second) - offsetSeconds
        return .some(Int64(exactly: Int128(seconds) * 1_000_000_000 + Int128(fraction)))
    }
}
