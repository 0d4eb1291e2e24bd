#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock time in nanoseconds since the Unix epoch (UTC).
enum WallClock {
    static func nowNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

/// Civil-date arithmetic and US Eastern Time (the zone Massive's daily bars use), with the US
/// daylight-saving rules (see `dstBounds`).
enum EasternTime {
    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z0: Int64) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(m <= 2 ? y + 1 : y), Int(m), Int(d))
    }

    /// 0 = Sunday.
    static func weekday(days: Int64) -> Int {
        let w = (days + 4) % 7
        return Int(w >= 0 ? w : w + 7)
    }

    /// Day number of the n-th (1-based) Sunday of a month.
    static func nthSunday(year: Int, month: Int, n: Int) -> Int64 {
        let first = daysFromCivil(year: year, month: month, day: 1)
        let offset = (7 - Int64(weekday(days: first))) % 7
        return first + offset + Int64(7 * (n - 1))
    }

    /// Day number of the last Sunday of a month.
    static func lastSunday(year: Int, month: Int) -> Int64 {
        let next = month == 12 ? daysFromCivil(year: year + 1, month: 1, day: 1) : daysFromCivil(year: year, month: month + 1, day: 1)
        let last = next - 1
        return last - Int64(weekday(days: last))
    }

    /// DST bounds of a year as UTC seconds, switching at 02:00 local time: from 2007 the second
    /// Sunday of March to the first Sunday of November; 1987–2006 the first Sunday of April to
    /// the last Sunday of October; before 1987 the last Sunday of April to the last of October.
    static func dstBounds(year: Int) -> (start: Int64, end: Int64) {
        let startDay: Int64
        let endDay: Int64
        if year >= 2007 {
            startDay = nthSunday(year: year, month: 3, n: 2)
            endDay = nthSunday(year: year, month: 11, n: 1)
        } else if year >= 1987 {
            startDay = nthSunday(year: year, month: 4, n: 1)
            endDay = lastSunday(year: year, month: 10)
        } else {
            startDay = lastSunday(year: year, month: 4)
            endDay = lastSunday(year: year, month: 10)
        }
        return (startDay * 86_400 + 7 * 3_600, endDay * 86_400 + 6 * 3_600)
    }

    /// Offset of Eastern Time from UTC in seconds (-18000 or -14400) at a UTC instant.
    static func offset(atUTCSecond t: Int64) -> Int64 {
        let days = floorDiv(t, 86_400)
        let year = civilFromDays(days).year
        let (start, end) = dstBounds(year: year)
        return (t >= start && t < end) ? -14_400 : -18_000
    }

    /// The Eastern calendar day (days since 1970-01-01 in local terms) containing a UTC instant.
    static func localDay(atUTCSecond t: Int64) -> Int64 {
        floorDiv(t + offset(atUTCSecond: t), 86_400)
    }

    /// UTC second at which an Eastern calendar day starts (local midnight).
    static func startOfLocalDay(_ day: Int64) -> Int64 {
        // Midnight is never inside a DST transition (they happen at 02:00), so try both offsets.
        let asEST = day * 86_400 + 18_000
        let asEDT = day * 86_400 + 14_400
        return offset(atUTCSecond: asEDT) == -14_400 ? asEDT : asEST
    }

    /// UTC second of a wall-clock time of an Eastern day (for the nonexistent hour of a DST
    /// start, the EST reading).
    static func utcSecond(localDay day: Int64, secondOfDay: Int64) -> Int64 {
        let asEDT = day * 86_400 + secondOfDay + 14_400
        return offset(atUTCSecond: asEDT) == -14_400 ? asEDT : asEDT + 3_600
    }
}

@inlinable @inline(__always)
func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q
}

@inlinable @inline(__always)
func floorMod(_ a: Int64, _ b: Int64) -> Int64 { a - floorDiv(a, b) * b }

/// Parsing of the time formats Massive accepts in REST parameters.
enum TimeParsing {
    /// `YYYY-MM-DD` → Eastern day number.
    static func parseDate(_ s: Substring) -> Int64? {
        let b = Array(s.utf8)
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") else { return nil }
        guard let y = digits(b[0..<4]), let m = digits(b[5..<7]), let d = digits(b[8..<10]),
            (1...12).contains(m), (1...31).contains(d)
        else { return nil }
        return EasternTime.daysFromCivil(year: y, month: m, day: d)
    }

    /// RFC 3339 `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` → ns since the epoch.
    static func parseRFC3339(_ s: Substring) -> Int64? {
        let b = Array(s.utf8)
        guard b.count >= 20, b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: " "),
            b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
            let day = parseDate(s.prefix(10)),
            let hh = digits(b[11..<13]), let mm = digits(b[14..<16]), let ss = digits(b[17..<19])
        else { return nil }
        var i = 19
        var frac: Int64 = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var scale: Int64 = 100_000_000
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                frac += Int64(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
        }
        var offset: Int64 = 0
        if i < b.count, b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if i + 6 == b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"),
            let oh = digits(b[(i + 1)..<(i + 3)]), let om = digits(b[(i + 4)..<(i + 6)])
        {
            offset = Int64(oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let secs = day * 86_400 + Int64(hh * 3600 + mm * 60 + ss) - offset
        return secs * 1_000_000_000 + frac
    }

    static func digits(_ slice: ArraySlice<UInt8>) -> Int? {
        var v = 0
        for c in slice {
            guard c >= 48, c <= 57 else { return nil }
            v = v * 10 + Int(c - 48)
        }
        return slice.isEmpty ? nil : v
    }

    static func integer(_ s: Substring) -> Int64? {
        guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) || (s.first == "-" && s.count > 1) else {
            return nil
        }
        return Int64(s)
    }
}

/// The calendar a market's daily (and longer) bars follow: Eastern Time for US markets and
/// forex, UTC for crypto (as Massive does), with the market clock's `shift` against event time
/// (`--market-time`; 0 normally).
struct CalendarZone: Sendable {
    enum Kind: Sendable { case eastern, utc }
    let kind: Kind
    /// Market time − event time, seconds.
    let shift: Int64

    init(market: Market, shift: Int64 = 0) {
        self.kind = market == .crypto ? .utc : .eastern
        self.shift = shift
    }

    func localDay(atUTCSecond t: Int64) -> Int64 {
        let m = t + shift
        return kind == .utc ? floorDiv(m, 86_400) : EasternTime.localDay(atUTCSecond: m)
    }

    func startOfLocalDay(_ day: Int64) -> Int64 {
        (kind == .utc ? day * 86_400 : EasternTime.startOfLocalDay(day)) - shift
    }
}
