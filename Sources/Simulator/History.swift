import Synchronization

/// Aggregation windows of the REST aggregates endpoint.
public enum Timespan: String, Sendable, CaseIterable {
    case second, minute, hour, day, week, month, quarter, year

    var isCalendar: Bool { self != .second && self != .minute && self != .hour }
    var seconds: Int64 {
        switch self {
        case .second: 1
        case .minute: 60
        case .hour: 3_600
        default: 86_400
        }
    }
}

struct HistoryError: Error {
    let status: Int
    let message: String
}

/// Historical data for REST, computed from the very generator the stream uses: the same
/// (seed, symbol, second) gives the same trades, so REST bars equal the stream's bars.
final class HistoryEngine: Sendable {
    let universe: Universe
    let workLimit: Int
    /// Largest number of events generated to find a stream's day totals exactly.
    let dayTotalsLimit: Double
    private struct Key: Hashable {
        let market: Market
        let index: Int
        let unit: Int64  // minute start (s) or, negated minus one, a local day number
    }
    private let cache = Mutex<[Key: BarAccumulator]>([:])
    private static let cacheLimit = 400_000

    init(universe: Universe, workLimit: Int, dayTotalsLimit: Int) {
        self.universe = universe
        self.workLimit = workLimit
        self.dayTotalsLimit = Double(dayTotalsLimit)
    }

    /// Tracks the events a request generates against the configured limit.
    struct Budget {
        var left: Double
        /// Charge the events expected in `from..<to` (none while the market is closed).
        mutating func spend(_ spec: SymbolSpec, from: Int64, to: Int64) throws {
            left -= spec.expectedEvents(from: from, to: to)
            if left < 0 {
                throw HistoryError(
                    status: 400,
                    message: "range too large for the simulator at this rate: narrow it, lower the limit or run the simulator with a lower --rate")
            }
        }
    }

    func makeBudget() -> Budget { Budget(left: Double(workLimit)) }

    private func cached(_ key: Key) -> BarAccumulator? { cache.withLock { $0[key] } }

    private func store(_ key: Key, _ value: BarAccumulator) {
        cache.withLock { c in
            if c.count >= Self.cacheLimit { c.removeAll(keepingCapacity: true) }
            c[key] = value
        }
    }

    /// Summary of seconds [from, to) (to ≤ now assumed by the caller).
    func seconds(_ spec: SymbolSpec, from: Int64, to: Int64, budget: inout Budget) throws -> BarAccumulator {
        var acc = BarAccumulator()
        guard to > from else { return acc }
        try budget.spend(spec, from: from, to: to)
        var cursor = PathCursor(spec: spec, second: from)
        while cursor.second < to { acc.merge(cursor.nextSummary()) }
        return acc
    }

    /// Summary of one minute; complete minutes are cached.
    func minute(_ spec: SymbolSpec, start: Int64, now: Int64, budget: inout Budget) throws -> BarAccumulator {
        let end = min(start + 60, now)
        guard end > start else { return BarAccumulator() }
        let complete = end == start + 60
        let key = Key(market: spec.market, index: spec.index, unit: start)
        if complete, let hit = cached(key) { return hit }
        let acc = try seconds(spec, from: start, to: end, budget: &budget)
        if complete { store(key, acc) }
        return acc
    }

    /// Summary of a market calendar day; complete days are cached.
    func day(_ spec: SymbolSpec, localDay: Int64, now: Int64, budget: inout Budget) throws -> BarAccumulator {
        let zone = spec.calendar.zone
        let start = zone.startOfLocalDay(localDay)
        let end = min(zone.startOfLocalDay(localDay + 1), now)
        guard end > start else { return BarAccumulator() }
        let complete = end == zone.startOfLocalDay(localDay + 1)
        let key = Key(market: spec.market, index: spec.index, unit: -localDay - 1)
        if complete, let hit = cached(key) { return hit }
        var acc = BarAccumulator()
        var m = start
        while m < end {
            acc.merge(try minute(spec, start: m, now: now, budget: &budget))
            m += 60
        }
        if complete { store(key, acc) }
        return acc
    }

    /// The market day's totals before `second` (for `av`, `op` and `a`): exact, from the minutes
    /// REST caches, when that generates at most `dayTotalsLimit` events (and the limit is not
    /// 0); otherwise an estimate
    /// (expected volume of the sessions so far at the path's average price) with the open of
    /// the first hour of trading. Indices get only the open (their bars carry only `op`), forex
    /// and crypto nothing (their bars carry no day fields).
    func dayTotals(_ spec: SymbolSpec, upTo second: Int64) -> DayState {
        let schedule = spec.calendar.schedule(containing: second)
        var day = DayState(schedule)
        guard second > day.start else { return day }
        switch spec.market {
        case .forex, .crypto:
            return day
        case .indices:
            day.open = firstOpen(spec, schedule, before: second)
            return day
        case .stocks, .options:
            break
        }
        if dayTotalsLimit > 0, spec.expectedEvents(from: day.start, to: second) <= dayTotalsLimit {
            var budget = Budget(left: .infinity)
            var m = day.start
            while m < second {
                if let acc = try? minute(spec, start: m, now: second, budget: &budget) { day.add(acc) }
                m += 60
            }
            return day
        }
        day.open = firstOpen(spec, schedule, before: second)
        let active = spec.calendar.activeSeconds(from: day.start, to: second)
        let seconds = Double(active.regular) + MarketCalendar.extendedActivity * Double(active.extended)
        let volume = spec.expectedVolumePerSecond * seconds
        var priceSum = 0.0
        for k in 0..<8 { priceSum += spec.midTicks(at: day.start + (second - day.start) * Int64(2 * k + 1) / 16) }
        day.volume = Int64(volume.rounded())
        day.notional = volume * priceSum / 8
        return day
    }

    /// The first eligible print (index value) of a day before `second`, searching the first hour
    /// of its trading.
    private func firstOpen(_ spec: SymbolSpec, _ schedule: DaySchedule, before second: Int64) -> Int64? {
        var scan = PathCursor(spec: spec, second: schedule.extendedOpen)
        while scan.second < min(second, schedule.extendedOpen + 3_600) {
            let acc = scan.nextSummary()
            if acc.hasOHLC { return acc.open }
        }
        return nil
    }

    // MARK: aggregates

    struct AggregatesPage {
        var bars: [(startMs: Int64, acc: BarAccumulator)] = []
        var queryCount = 0
        /// Where the next page starts: the new `from` (ascending) or `to` (descending), in ms.
        var nextBoundMs: Int64?
    }

    /// Bars of `multiplier`×`timespan` between two instants (seconds, inclusive), at most `limit`
    /// base aggregates (seconds, minutes or days) per page, as Massive counts them.
    func aggregates(
        _ spec: SymbolSpec, multiplier: Int64, timespan: Timespan, fromSecond: Int64, toSecond: Int64,
        ascending: Bool, limit: Int, now: Int64
    ) throws -> AggregatesPage {
        var page = AggregatesPage()
        var budget = makeBudget()
        let windows = Windows(
            multiplier: multiplier, timespan: timespan, from: fromSecond, to: min(toSecond, now - 1),
            zone: spec.calendar.zone)
        var window = ascending ? windows.first() : windows.last()
        var used = 0
        while let w = window {
            if w.start >= now { break }
            let (acc, base) = try summarize(spec, window: w, timespan: timespan, now: now, budget: &budget)
            if !page.bars.isEmpty, used + base > limit {
                page.nextBoundMs = ascending ? w.start * 1000 : w.end * 1000 - 1
                break
            }
            used += base
            if acc.hasOHLC { page.bars.append((w.start * 1000, acc)) }
            window = ascending ? windows.after(w) : windows.before(w)
        }
        page.queryCount = used
        return page
    }

    /// A window's summary and its number of non-empty base aggregates.
    private func summarize(
        _ spec: SymbolSpec, window w: Windows.Window, timespan: Timespan, now: Int64, budget: inout Budget
    ) throws -> (BarAccumulator, Int) {
        var acc = BarAccumulator()
        var base = 0
        let end = min(w.end, now)
        switch timespan {
        case .second:
            var cursor = PathCursor(spec: spec, second: w.start)
            try budget.spend(spec, from: w.start, to: end)
            while cursor.second < end {
                let s = cursor.nextSummary()
                if s.hasOHLC { base += 1 }
                acc.merge(s)
            }
        case .minute, .hour:
            var m = w.start
            while m < end {
                let s = try minute(spec, start: m, now: now, budget: &budget)
                if s.hasOHLC { base += 1 }
                acc.merge(s)
                m += 60
            }
        default:
            let zone = spec.calendar.zone
            var d = zone.localDay(atUTCSecond: w.start)
            while zone.startOfLocalDay(d) < end {
                let s = try day(spec, localDay: d, now: now, budget: &budget)
                if s.hasOHLC { base += 1 }
                acc.merge(s)
                d += 1
            }
        }
        return (acc, base)
    }

    // MARK: trades and quotes

    struct TicksPage {
        var events: [SimEvent] = []
        /// Resume position (second, event index within it) when the page is full.
        var next: (second: Int64, index: Int)?
    }

    /// Trades or quotes in [lo, hi] ns (hi already clipped to now), from `position` on.
    func ticks(
        _ spec: SymbolSpec, kind: EventKind, lo: Int64, hi: Int64, ascending: Bool, limit: Int,
        position: (second: Int64, index: Int)?
    ) throws -> TicksPage {
        var page = TicksPage()
        guard hi >= lo, limit > 0 else { return page }
        var budget = makeBudget()
        let firstSecond = floorDiv(lo, 1_000_000_000)
        let lastSecond = floorDiv(hi, 1_000_000_000)
        if ascending {
            var s = max(position?.second ?? firstSecond, firstSecond)
            var cursor = PathCursor(spec: spec, second: s)
            while s <= lastSecond {
                try budget.spend(spec, from: s, to: s + 1)
                var g = cursor.nextSecond()
                var i = 0
                let skip = position.map { $0.second == s ? $0.index : 0 } ?? 0
                while let e = g.next(spec) {
                    defer { i += 1 }
                    if i < skip || e.kind != kind || e.timestampNs < lo || e.timestampNs > hi { continue }
                    if page.events.count == limit {
                        page.next = (s, i)
                        return page
                    }
                    page.events.append(e)
                }
                s += 1
            }
        } else {
            var s = min(position?.second ?? lastSecond, lastSecond)
            var buffer: [SimEvent] = []
            while s >= firstSecond {
                try budget.spend(spec, from: s, to: s + 1)
                var g = PathCursor.generator(spec: spec, second: s)
                buffer.removeAll(keepingCapacity: true)
                while let e = g.next(spec) { buffer.append(e) }
                let top = position.map { $0.second == s ? min($0.index, buffer.count) : buffer.count } ?? buffer.count
                var i = top - 1
                while i >= 0 {
                    let e = buffer[i]
                    if e.kind == kind, e.timestampNs >= lo, e.timestampNs <= hi {
                        if page.events.count == limit {
                            page.next = (s, i + 1)
                            return page
                        }
                        page.events.append(e)
                    }
                    i -= 1
                }
                s -= 1
            }
        }
        return page
    }
}

/// Enumerates aggregation windows: fixed windows aligned to the epoch for second/minute/hour,
/// Eastern calendar windows (grouped by the multiplier from the first one) for day and longer.
struct Windows {
    struct Window {
        let start: Int64
        let end: Int64
        /// Calendar index of the window's first unit (local day, or month count) for stepping.
        let unit: Int64
    }

    let multiplier: Int64
    let timespan: Timespan
    let from: Int64
    let to: Int64
    let zone: CalendarZone
    private let firstUnit: Int64

    init(multiplier: Int64, timespan: Timespan, from: Int64, to: Int64, zone: CalendarZone) {
        self.multiplier = max(1, multiplier)
        self.timespan = timespan
        self.from = from
        self.to = to
        self.zone = zone
        self.firstUnit = Windows.unit(containing: from, timespan: timespan, zone: zone)
    }

    /// Calendar unit containing a second: local day (day, week) or months since 1970 (month+).
    private static func unit(containing t: Int64, timespan: Timespan, zone: CalendarZone) -> Int64 {
        let day = zone.localDay(atUTCSecond: t)
        switch timespan {
        case .day: return day
        case .week: return day - Int64(EasternTime.weekday(days: day))
        case .month, .quarter, .year:
            let c = EasternTime.civilFromDays(day)
            var months = Int64(c.year - 1970) * 12 + Int64(c.month - 1)
            if timespan == .quarter { months -= floorMod(months, 3) }
            if timespan == .year { months -= floorMod(months, 12) }
            return months
        default: return 0
        }
    }

    private var unitStep: Int64 {
        switch timespan {
        case .week: 7 * multiplier
        case .quarter: 3 * multiplier
        case .year: 12 * multiplier
        default: multiplier
        }
    }

    private func startOfUnit(_ u: Int64) -> Int64 {
        switch timespan {
        case .day, .week: return zone.startOfLocalDay(u)
        default:
            let year = Int(floorDiv(u, 12)) + 1970
            let month = Int(floorMod(u, 12)) + 1
            return zone.startOfLocalDay(EasternTime.daysFromCivil(year: year, month: month, day: 1))
        }
    }

    private func window(unit u: Int64) -> Window {
        Window(start: startOfUnit(u), end: startOfUnit(u + unitStep), unit: u)
    }

    private func window(fixedStart s: Int64) -> Window {
        Window(start: s, end: s + timespan.seconds * multiplier, unit: 0)
    }

    private var fixedSize: Int64 { timespan.seconds * multiplier }

    func first() -> Window? {
        guard from <= to else { return nil }
        if timespan.isCalendar { return window(unit: firstUnit) }
        return window(fixedStart: floorDiv(from, fixedSize) * fixedSize)
    }

    func last() -> Window? {
        guard from <= to else { return nil }
        if timespan.isCalendar {
            let u = Windows.unit(containing: to, timespan: timespan, zone: zone)
            let k = floorDiv(u - firstUnit, unitStep)
            return window(unit: firstUnit + k * unitStep)
        }
        return window(fixedStart: floorDiv(to, fixedSize) * fixedSize)
    }

    func after(_ w: Window) -> Window? {
        let next = timespan.isCalendar ? window(unit: w.unit + unitStep) : window(fixedStart: w.end)
        return next.start <= to ? next : nil
    }

    func before(_ w: Window) -> Window? {
        if timespan.isCalendar {
            guard w.unit - unitStep >= firstUnit else { return nil }
            return window(unit: w.unit - unitStep)
        }
        let prev = window(fixedStart: w.start - fixedSize)
        return prev.end > from ? prev : nil
    }
}
