import TickBusCore

/// A day of the Gregorian calendar, as Massive takes it in `YYYY-MM-DD`.
public struct CalendarDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Fails unless the date exists (years 1–9999).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1,
              day <= CalendarDate.days(inMonth: month, year: year)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses exactly `YYYY-MM-DD`.
    public init?(parsing text: some StringProtocol) {
        let b = Array(text.utf8)
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              let y = decimal(b[0..<4]), let m = decimal(b[5..<7]), let d = decimal(b[8..<10])
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// Days since 1970-01-01 (negative before it).
    public var daysSinceEpoch: Int64 {
        UTCTime.daysSinceEpoch(year: Int64(year), month: Int64(month), day: Int64(day))
    }

    /// 00:00 UTC of this day, in ns since the epoch; `Int64.min` or `Int64.max` for the days
    /// 64-bit ns do not reach (before 1677-09-22, after 2262-04-11).
    var startNanoseconds: Int64 {
        let (ns, overflow) = daysSinceEpoch.multipliedReportingOverflow(by: 86_400 * 1_000_000_000)
        return overflow ? (daysSinceEpoch < 0 ? .min : .max) : ns
    }

    public var description: String {
        func pad(_ n: Int, _ width: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    public static func < (a: CalendarDate, b: CalendarDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    static func days(inMonth month: Int, year: Int) -> Int {
        Int(UTCTime.daysIn(month: Int64(month), year: Int64(year)))
    }
}

extension Int64 {
    /// `self + other`, clamped to `Int64.min...Int64.max`.
    func addingSaturated(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other < 0 ? .min : .max) : sum
    }
}

/// The value of ASCII decimal digits (nil if any byte is not a digit, or there are none).
func decimal(_ bytes: some Collection<UInt8>) -> Int? {
    guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
    var value = 0
    for b in bytes {
        let d = b &- UInt8(ascii: "0")
        guard d < 10 else { return nil }
        value = value * 10 + Int(d)
    }
    return value
}
