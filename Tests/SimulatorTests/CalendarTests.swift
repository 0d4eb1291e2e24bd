import Foundation
import Synchronization
import Testing

@testable import Simulator

/// The market calendar: NYSE days, sessions, DST, and REST and the stream following them.
@Suite("Calendar")
struct CalendarTests {
    /// UTC second of an RFC 3339 time.
    static func utc(_ s: String) -> Int64 { TimeParsing.parseRFC3339(s[...])! / 1_000_000_000 }

    static func day(_ y: Int, _ m: Int, _ d: Int) -> Int64 { EasternTime.daysFromCivil(year: y, month: m, day: d) }

    @Test(
        "US equity days: weekends, holidays, one-off closures, early closes",
        arguments: [
            // (date, trades, early close)
            ((2024, 1, 1), false, false),  // New Year's Day
            ((2024, 1, 2), true, false),
            ((2024, 1, 6), false, false),  // Saturday
            ((2024, 1, 7), false, false),  // Sunday
            ((2024, 1, 15), false, false),  // Martin Luther King Jr. Day
            ((2024, 2, 19), false, false),  // Washington's Birthday
            ((2024, 3, 10), false, false),  // Sunday of the DST switch
            ((2024, 3, 29), false, false),  // Good Friday
            ((2024, 6, 19), false, false),  // Juneteenth
            ((2024, 7, 3), true, true),
            ((2024, 7, 4), false, false),
            ((2024, 11, 29), true, true),  // day after Thanksgiving
            ((2024, 12, 24), true, true),
            ((2018, 12, 5), false, false),  // George H. W. Bush
            ((2025, 1, 9), false, false),  // Jimmy Carter
            ((2021, 12, 24), false, false),  // Christmas observed on Friday
            ((2021, 12, 31), true, false),  // New Year's Day 2022 on a Saturday: not observed
            ((2026, 7, 3), false, false),  // Independence Day observed
            ((2027, 6, 18), false, false),  // Juneteenth observed
            ((2015, 4, 3), false, false),  // Good Friday, first year of the table
        ] as [((Int, Int, Int), Bool, Bool)])
    func equityDays(date: (Int, Int, Int), trades: Bool, early: Bool) {
        let d = Self.day(date.0, date.1, date.2)
        #expect(USEquityCalendar.isTradingDay(d) == trades, "\(date)")
        #expect(USEquityCalendar.isEarlyClose(d) == early, "\(date)")
        let s = MarketCalendar(market: .stocks, shift: 0).schedule(day: d)
        #expect((s.regularOpen < s.regularClose) == trades)
    }

    @Test("the table covers 2015–2027 with 9 to 11 closures a year, all on weekdays")
    func tableShape() {
        for year in 2015...2027 {
            let count = USEquityCalendar.holidayDates.filter { $0.0 == year }.count
            #expect((9...11).contains(count), "\(year): \(count)")
        }
        for d in USEquityCalendar.holidays.union(USEquityCalendar.earlyCloses) {
            #expect((1...5).contains(EasternTime.weekday(days: d)))
        }
        #expect(USEquityCalendar.holidays.isDisjoint(with: USEquityCalendar.earlyCloses))
    }

    @Test(
        "session phases in UTC across DST, early closes, per market",
        arguments: [
            // Stocks, a winter day (EST): pre 09:00Z, open 14:30Z, close 21:00Z, after-hours to 01:00Z.
            (Market.stocks, "2024-01-02T08:59:59Z", SessionPhase.closed),
            (.stocks, "2024-01-02T09:00:00Z", .extended),
            (.stocks, "2024-01-02T14:29:59Z", .extended),
            (.stocks, "2024-01-02T14:30:00Z", .regular),
            (.stocks, "2024-01-02T20:59:59Z", .regular),
            (.stocks, "2024-01-02T21:00:00Z", .extended),
            (.stocks, "2024-01-03T00:59:59Z", .extended),
            (.stocks, "2024-01-03T01:00:00Z", .closed),
            // DST: Friday 2024-03-08 opens 14:30Z, Monday 2024-03-11 13:30Z; Sunday is closed.
            (.stocks, "2024-03-08T14:30:00Z", .regular),
            (.stocks, "2024-03-10T15:00:00Z", .closed),
            (.stocks, "2024-03-11T13:29:59Z", .extended),
            (.stocks, "2024-03-11T13:30:00Z", .regular),
            (.stocks, "2024-03-11T08:00:00Z", .extended),
            (.stocks, "2024-03-11T07:59:59Z", .closed),
            // Early close 2024-07-03 (EDT): regular to 17:00Z, after-hours to 21:00Z.
            (.stocks, "2024-07-03T16:59:59Z", .regular),
            (.stocks, "2024-07-03T17:00:00Z", .extended),
            (.stocks, "2024-07-03T20:59:59Z", .extended),
            (.stocks, "2024-07-03T21:00:00Z", .closed),
            (.stocks, "2024-01-01T15:00:00Z", .closed),
            // Options and indices: regular hours only.
            (.options, "2024-01-02T14:29:59Z", .closed),
            (.options, "2024-01-02T14:30:00Z", .regular),
            (.options, "2024-01-02T21:00:00Z", .closed),
            (.indices, "2024-07-03T17:00:00Z", .closed),
            (.indices, "2024-07-03T16:00:00Z", .regular),
            // Forex: Sunday 17:00 ET (21:00Z after the DST switch) to Friday 17:00 ET.
            (.forex, "2024-03-10T20:59:59Z", .closed),
            (.forex, "2024-03-10T21:00:00Z", .regular),
            (.forex, "2024-03-08T21:59:59Z", .regular),
            (.forex, "2024-03-08T22:00:00Z", .closed),
            (.forex, "2024-03-09T12:00:00Z", .closed),
            (.forex, "2024-01-01T12:00:00Z", .regular),
            // Crypto: always.
            (.crypto, "2024-03-09T12:00:00Z", .regular),
            (.crypto, "2024-12-25T00:00:00Z", .regular),
        ] as [(Market, String, SessionPhase)])
    func phases(market: Market, time: String, phase: SessionPhase) {
        let t = Self.utc(time)
        #expect(MarketCalendar(market: market, shift: 0).schedule(containing: t).phase(at: t) == phase, "\(market) \(time)")
    }

    @Test("a market-time offset moves sessions and market days, not timestamps")
    func offsets() {
        let now = Self.utc("2024-01-06T12:00:00Z")  // Saturday
        let offset = SimulatorConfiguration.marketTimeOffset("2024-01-02T14:30:00Z", nowNs: now * 1_000_000_000)!
        #expect(offset == .seconds(Self.utc("2024-01-02T14:30:00Z") - now))
        let shifted = MarketCalendar(market: .stocks, shift: offset.components.seconds)
        #expect(shifted.schedule(containing: now).phase(at: now) == .regular)
        #expect(shifted.schedule(containing: now).regularOpen == now)
        // Rounded up to a whole minute, never before the time asked for.
        let odd = SimulatorConfiguration.marketTimeOffset("2024-01-02T14:30:00Z", nowNs: (now + 7) * 1_000_000_000)!
        #expect(odd.components.seconds % 60 == 0)
        #expect(now + 7 + odd.components.seconds >= Self.utc("2024-01-02T14:30:00Z"))
        // `session`: zero inside a session, else the latest open (Friday 2024-01-05 09:30 ET).
        #expect(SimulatorConfiguration.sessionOffset(nowNs: Self.utc("2024-01-05T15:00:00Z") * 1_000_000_000) == .zero)
        #expect(
            SimulatorConfiguration.sessionOffset(nowNs: now * 1_000_000_000)
                == .seconds(Self.utc("2024-01-05T14:30:00Z") - now))
        #expect(SimulatorConfiguration.marketTimeOffset("now", nowNs: 0) == .zero)
        #expect(SimulatorConfiguration.marketTimeOffset("tomorrow", nowNs: 0) == nil)
        var c = SimulatorConfiguration()
        c.marketTimeOffset = .seconds(30)
        #expect(throws: SimulatorError.self) { try c.validate() }
        c.marketTimeOffset = .seconds(-600)
        c.clock = .simulated(startMs: 0, speed: 1)
        #expect(throws: SimulatorError.self) { try c.validate() }
    }

    @Test("REST: 41 AAPL day bars for 2024-01-01..02-29; minute bars only in sessions")
    func restFollowsCalendar() async throws {
        try await withSimulator(testConfiguration(rate: 2), timeout: 120) { sim in
            let base = try await sim.restBaseURL()
            var days: [Int64] = []
            let halves = [("01-01", "01-15"), ("01-16", "01-31"), ("02-01", "02-15"), ("02-16", "02-29")]
            for (from, to) in halves.map({ ("2024-" + $0.0, "2024-" + $0.1) }) {
                let (status, json) = try await httpGet("\(base)/v2/aggs/ticker/AAPL/range/1/day/\(from)/\(to)?apiKey=k")
                #expect(status == 200)
                days += (json["results"] as? [[String: Any]] ?? []).map {
                    EasternTime.localDay(atUTCSecond: int64($0["t"])! / 1000)
                }
            }
            #expect(days.count == 41)
            #expect(days.allSatisfy(USEquityCalendar.isTradingDay))
            for closed in [Self.day(2024, 1, 1), Self.day(2024, 1, 15), Self.day(2024, 2, 19)] {
                #expect(!days.contains(closed))
            }
        }
        try await withSimulator(testConfiguration(rate: 50), timeout: 120) { sim in
            let base = try await sim.restBaseURL()
            // Options trade in regular hours only: 390 minutes at most on 2024-01-02, none on the 1st.
            let option = "O:SPY251219C00650000"
            let (_, minutes) = try await httpGet("\(base)/v2/aggs/ticker/\(option)/range/1/minute/2024-01-01/2024-01-02?apiKey=k&limit=50000")
            let starts = (minutes["results"] as? [[String: Any]] ?? []).map { int64($0["t"])! / 1000 }
            #expect(!starts.isEmpty)
            #expect(starts.allSatisfy { $0 >= Self.utc("2024-01-02T14:30:00Z") && $0 < Self.utc("2024-01-02T21:00:00Z") })
            // Stocks: pre-market and after-hours too, at a fraction of the regular activity.
            let (_, stock) = try await httpGet("\(base)/v2/aggs/ticker/AAPL/range/1/minute/2024-01-02/2024-01-02?apiKey=k&limit=50000")
            let bars = (stock["results"] as? [[String: Any]] ?? []).map { (int64($0["t"])! / 1000, int64($0["n"])!) }
            #expect(bars.allSatisfy { $0.0 >= Self.utc("2024-01-02T09:00:00Z") && $0.0 < Self.utc("2024-01-03T01:00:00Z") })
            let regular = bars.filter { $0.0 >= Self.utc("2024-01-02T14:30:00Z") && $0.0 < Self.utc("2024-01-02T21:00:00Z") }
            let extended = bars.filter { $0.0 < Self.utc("2024-01-02T14:30:00Z") || $0.0 >= Self.utc("2024-01-02T21:00:00Z") }
            #expect(!extended.isEmpty)
            let perRegular = Double(regular.map(\.1).reduce(0, +)) / 390
            let perExtended = Double(extended.map(\.1).reduce(0, +)) / 570
            #expect(perExtended < perRegular / 5, "pre-market and after-hours are quiet")
            // Trades: none on a holiday.
            let (_, trades) = try await httpGet("\(base)/v3/trades/AAPL?timestamp=2024-01-15&apiKey=k")
            #expect((trades["results"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("the stream follows the calendar: nothing from Friday 20:00 ET to Monday 04:00 ET")
    func streamSkipsWeekend() async throws {
        var config = testConfiguration(rate: 50)
        config.clock = .simulated(startMs: Self.utc("2024-01-06T00:50:00Z") * 1000, speed: 0)  // Fri 19:50 ET
        try await withSimulator(config, timeout: 60) { sim in
            try await withWebSocket(try await sim.webSocketURL(.stocks)) { ws in
                try await ws.auth()
                try await ws.subscribe("T.*,Q.*,A.*,AM.*")
                let monday = Self.utc("2024-01-08T09:00:00Z") * 1000
                try await ws.waitUntil("Monday's pre-market", timeout: 30) { events in
                    events.contains { (int64($0["t"]) ?? int64($0["s"]) ?? 0) >= monday }
                }
                let times = ws.events.filter { $0["ev"] as? String != "status" }.map { int64($0["t"]) ?? int64($0["s"])! }
                let friday = Self.utc("2024-01-06T01:00:00Z") * 1000
                #expect(times.contains { $0 < friday })
                #expect(!times.contains { $0 >= friday && $0 < monday }, "nothing while closed")
            }
        }
    }
}
