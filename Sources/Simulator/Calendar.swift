/// The NYSE calendar: the days US stocks and options do not trade and the days they close
/// early (13:00 ET), 2015–2027.
///
/// Source: NYSE's published holiday and early-close lists ("Holidays & Trading Hours",
/// https://www.nyse.com/markets/hours-calendars, one list per year), including the one-off
/// closures for the national days of mourning of George H. W. Bush (2018-12-05) and Jimmy
/// Carter (2025-01-09). Outside these years only weekends are closed.
enum USEquityCalendar {
    /// Full-day closures, `(year, month, day)`.
    static let holidayDates: [(Int, Int, Int)] = [
        (2015, 1, 1), (2015, 1, 19), (2015, 2, 16), (2015, 4, 3), (2015, 5, 25), (2015, 7, 3), (2015, 9, 7),
        (2015, 11, 26), (2015, 12, 25),
        (2016, 1, 1), (2016, 1, 18), (2016, 2, 15), (2016, 3, 25), (2016, 5, 30), (2016, 7, 4), (2016, 9, 5),
        (2016, 11, 24), (2016, 12, 26),
        (2017, 1, 2), (2017, 1, 16), (2017, 2, 20), (2017, 4, 14), (2017, 5, 29), (2017, 7, 4), (2017, 9, 4),
        (2017, 11, 23), (2017, 12, 25),
        (2018, 1, 1), (2018, 1, 15), (2018, 2, 19), (2018, 3, 30), (2018, 5, 28), (2018, 7, 4), (2018, 9, 3),
        (2018, 11, 22), (2018, 12, 5), (2018, 12, 25),
        (2019, 1, 1), (2019, 1, 21), (2019, 2, 18), (2019, 4, 19), (2019, 5, 27), (2019, 7, 4), (2019, 9, 2),
        (2019, 11, 28), (2019, 12, 25),
        (2020, 1, 1), (2020, 1, 20), (2020, 2, 17), (2020, 4, 10), (2020, 5, 25), (2020, 7, 3), (2020, 9, 7),
        (2020, 11, 26), (2020, 12, 25),
        (2021, 1, 1), (2021, 1, 18), (2021, 2, 15), (2021, 4, 2), (2021, 5, 31), (2021, 7, 5), (2021, 9, 6),
        (2021, 11, 25), (2021, 12, 24),
        (2022, 1, 17), (2022, 2, 21), (2022, 4, 15), (2022, 5, 30), (2022, 6, 20), (2022, 7, 4), (2022, 9, 5),
        (2022, 11, 24), (2022, 12, 26),
        (2023, 1, 2), (2023, 1, 16), (2023, 2, 20), (2023, 4, 7), (2023, 5, 29), (2023, 6, 19), (2023, 7, 4),
        (2023, 9, 4), (2023, 11, 23), (2023, 12, 25),
        (2024, 1, 1), (2024, 1, 15), (2024, 2, 19), (2024, 3, 29), (2024, 5, 27), (2024, 6, 19), (2024, 7, 4),
        (2024, 9, 2), (2024, 11, 28), (2024, 12, 25),
        (2025, 1, 1), (2025, 1, 9), (2025, 1, 20), (2025, 2, 17), (2025, 4, 18), (2025, 5, 26), (2025, 6, 19),
        (2025, 7, 4), (2025, 9, 1), (2025, 11, 27), (2025, 12, 25),
        (2026, 1, 1), (2026, 1, 19), (2026, 2, 16), (2026, 4, 3), (2026, 5, 25), (2026, 6, 19), (2026, 7, 3),
        (2026, 9, 7), (2026, 11, 26), (2026, 12, 25),
        (2027, 1, 1), (2027, 1, 18), (2027, 2, 15), (2027, 3, 26), (2027, 5, 31), (2027, 6, 18), (2027, 7, 5),
        (2027, 9, 6), (2027, 11, 25), (2027, 12, 24),
    ]

    /// Early closes (13:00 ET; extended hours end at 17:00), `(year, month, day)`.
    static let earlyCloseDates: [(Int, Int, Int)] = [
        (2015, 11, 27), (2015, 12, 24),
        (2016, 11, 25),
        (2017, 7, 3), (2017, 11, 24),
        (2018, 7, 3), (2018, 11, 23), (2018, 12, 24),
        (2019, 7, 3), (2019, 11, 29), (2019, 12, 24),
        (2020, 11, 27), (2020, 12, 24),
        (2021, 11, 26),
        (2022, 11, 25),
        (2023, 7, 3), (2023, 11, 24),
        (2024, 7, 3), (2024, 11, 29), (2024, 12, 24),
        (2025, 7, 3), (2025, 11, 28), (2025, 12, 24),
        (2026, 11, 27), (2026, 12, 24),
        (2027, 11, 26),
    ]

    private static func days(_ dates: [(Int, Int, Int)]) -> Set<Int64> {
        Set(dates.map { EasternTime.daysFromCivil(year: $0.0, month: $0.1, day: $0.2) })
    }

    static let holidays = days(holidayDates)
    static let earlyCloses = days(earlyCloseDates)

    /// Whether stocks trade on an Eastern calendar day (days since 1970-01-01).
    static func isTradingDay(_ day: Int64) -> Bool {
        (1...5).contains(EasternTime.weekday(days: day)) && !holidays.contains(day)
    }

    static func isEarlyClose(_ day: Int64) -> Bool { earlyCloses.contains(day) }
}

/// How active a second of a market is.
enum SessionPhase: UInt8, Sendable {
    /// Nothing trades or quotes.
    case closed
    /// Pre-market and after-hours: a small fraction of the regular rate.
    case extended
    /// Regular session (or always, for forex and crypto while they trade): the full rate.
    case regular
}

/// The sessions of one market day, as UTC seconds (`start..<end` is the day itself).
struct DaySchedule: Sendable, Equatable {
    var start: Int64
    var end: Int64
    var extendedOpen: Int64
    var regularOpen: Int64
    var regularClose: Int64
    var extendedClose: Int64

    @inline(__always)
    func phase(at second: Int64) -> SessionPhase {
        if second < extendedOpen || second >= extendedClose { return .closed }
        return second >= regularOpen && second < regularClose ? .regular : .extended
    }

    /// Seconds of `from..<to` (clipped to the day) in the regular and in the extended session.
    func activeSeconds(from: Int64, to: Int64) -> (regular: Int64, extended: Int64) {
        func overlap(_ a: Int64, _ b: Int64) -> Int64 { max(0, min(b, to) - max(a, from)) }
        let regular = overlap(regularOpen, regularClose)
        return (regular, overlap(extendedOpen, extendedClose) - regular)
    }
}

/// When a market trades. US stocks: NYSE trading days, pre-market 04:00–09:30, regular
/// 09:30–16:00 (13:00 on early closes), after-hours until 20:00 (17:00); options and indices:
/// the regular session only; forex: Sunday 17:00 to Friday 17:00 ET; crypto: always.
///
/// `shift` moves the market's clock face against the event clock (`--market-time`): the
/// market is in the session, and on the calendar day, of event time + `shift`; event times
/// themselves stay on the event clock.
struct MarketCalendar: Sendable {
    let market: Market
    /// Market time − event time, seconds.
    let shift: Int64

    /// Share of the regular rate traded in pre-market and after-hours.
    static let extendedActivity = 0.05

    var zone: CalendarZone { CalendarZone(market: market, shift: shift) }

    /// The market day (local calendar day of market time) containing an event-time second.
    func localDay(atUTCSecond t: Int64) -> Int64 { zone.localDay(atUTCSecond: t) }

    /// The sessions of a market day.
    func schedule(day: Int64) -> DaySchedule {
        let zone = self.zone
        let start = zone.startOfLocalDay(day)
        let end = zone.startOfLocalDay(day + 1)
        func at(_ hours: Int64, _ minutes: Int64 = 0) -> Int64 {
            EasternTime.utcSecond(localDay: day, secondOfDay: hours * 3_600 + minutes * 60) - shift
        }
        let closed = DaySchedule(
            start: start, end: end, extendedOpen: start, regularOpen: start, regularClose: start, extendedClose: start)
        switch market {
        case .crypto:
            return DaySchedule(
                start: start, end: end, extendedOpen: start, regularOpen: start, regularClose: end, extendedClose: end)
        case .forex:
            let weekday = EasternTime.weekday(days: day)
            let open = weekday == 0 ? at(17) : start
            let close = weekday == 5 ? at(17) : end
            if weekday == 6 { return closed }
            return DaySchedule(
                start: start, end: end, extendedOpen: open, regularOpen: open, regularClose: close, extendedClose: close)
        case .stocks, .options, .indices:
            guard USEquityCalendar.isTradingDay(day) else { return closed }
            let early = USEquityCalendar.isEarlyClose(day)
            let open = at(9, 30)
            let close = early ? at(13) : at(16)
            if market != .stocks {
                return DaySchedule(
                    start: start, end: end, extendedOpen: open, regularOpen: open, regularClose: close,
                    extendedClose: close)
            }
            return DaySchedule(
                start: start, end: end, extendedOpen: at(4), regularOpen: open, regularClose: close,
                extendedClose: early ? at(17) : at(20))
        }
    }

    /// The schedule of the market day containing an event-time second.
    func schedule(containing t: Int64) -> DaySchedule { schedule(day: localDay(atUTCSecond: t)) }

    /// Seconds of `from..<to` in the regular and in the extended session.
    func activeSeconds(from: Int64, to: Int64) -> (regular: Int64, extended: Int64) {
        var total: (regular: Int64, extended: Int64) = (0, 0)
        guard to > from else { return total }
        var day = localDay(atUTCSecond: from)
        while true {
            let s = schedule(day: day)
            guard s.start < to else { break }
            let a = s.activeSeconds(from: from, to: to)
            total.regular += a.regular
            total.extended += a.extended
            day += 1
        }
        return total
    }

    /// The start of the most recent regular session at or before `t` (event time), or `t`
    /// itself when it is in one. Searches back a month at most.
    func latestRegularTime(atOrBefore t: Int64) -> Int64? {
        var day = localDay(atUTCSecond: t)
        let first = day - 31
        while day >= first {
            let s = schedule(day: day)
            if s.regularOpen < s.regularClose, s.regularOpen <= t {
                return t < s.regularClose ? t : s.regularOpen
            }
            day -= 1
        }
        return nil
    }
}
