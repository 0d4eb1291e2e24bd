import Foundation
import NIOCore
import Testing

@testable import Simulator

@Suite("Units")
struct UnitTests {
    @Test("Eastern calendar days match Massive's daily bar stamps (fixture values)")
    func easternDays() {
        let apr1 = EasternTime.daysFromCivil(year: 2005, month: 4, day: 1)
        #expect(EasternTime.startOfLocalDay(apr1) * 1000 == 1_112_331_600_000)
        #expect(EasternTime.startOfLocalDay(apr1 + 3) * 1000 == 1_112_587_200_000)
        #expect(EasternTime.startOfLocalDay(EasternTime.daysFromCivil(year: 2020, month: 1, day: 2)) * 1000 == 1_577_941_200_000)
        let (start, end) = EasternTime.dstBounds(year: 2024)
        #expect(start == 1_710_054_000)  // 2024-03-10 07:00Z
        #expect(end == 1_730_613_600)  // 2024-11-03 06:00Z
        #expect(EasternTime.offset(atUTCSecond: start - 1) == -18_000)
        #expect(EasternTime.offset(atUTCSecond: start) == -14_400)
        #expect(EasternTime.civilFromDays(EasternTime.daysFromCivil(year: 1999, month: 12, day: 31)) == (1999, 12, 31))
        #expect(EasternTime.weekday(days: 0) == 4, "1970-01-01 was a Thursday")
        // Before 2007: first Sunday of April to last Sunday of October.
        #expect(EasternTime.dstBounds(year: 2005) == (1_112_511_600, 1_130_652_000))
    }

    @Test("time parsing: dates, ms, RFC 3339 with fractions and offsets")
    func timeParsing() {
        #expect(SimulatorConfiguration.parseTime("1700000000000") == 1_700_000_000_000)
        #expect(SimulatorConfiguration.parseTime("2020-01-02") == 1_577_941_200_000)
        #expect(TimeParsing.parseRFC3339("2022-05-10T14:11:12.690661189Z") == 1_652_191_872_690_661_189)
        #expect(TimeParsing.parseRFC3339("2022-05-10T10:11:12-04:00") == 1_652_191_872_000_000_000)
        #expect(TimeParsing.parseRFC3339("2022-05-10") == nil)
        #expect(SimulatorConfiguration.parseTime("soon") == nil)
    }

    @Test("number formatting on the hot path")
    func formatting() {
        var f = FrameBuffer(capacity: 64)
        f.fixed(23_001, decimals: 2)
        f.byte(32)
        f.fixed(23_000, decimals: 2)
        f.byte(32)
        f.fixed(5, decimals: 4)
        f.byte(32)
        f.fixed(1_616_617, decimals: 8)
        f.byte(32)
        f.int(-42)
        f.byte(32)
        f.uint(UInt64.max)
        f.byte(32)
        f.decimal(231.97449, decimals: 4)
        #expect(f.string == "230.01 230 0.0005 0.01616617 -42 18446744073709551615 231.9745")
    }

    @Test("symbols: markets recognised, lists parsed, bad ones refused")
    func symbols() throws {
        let parsed = try SimulatorConfiguration.parseSymbols(["AAPL,BRK.B,O:SPY251219C00650000", "I:SPX,EUR/USD,BTC-USD", "crypto="])
        #expect(parsed[.stocks] == ["AAPL", "BRK.B"])
        #expect(parsed[.options] == ["O:SPY251219C00650000"])
        #expect(parsed[.indices] == ["I:SPX"])
        #expect(parsed[.forex] == ["EUR/USD"])
        #expect(parsed[.crypto] == ["BTC-USD"])
        #expect(throws: SimulatorError.self) { try SimulatorConfiguration.parseSymbols(["stocks=BTC-USD"]) }
        var c = SimulatorConfiguration()
        c.symbols = [.stocks: ["A\"B"]]
        #expect(throws: SimulatorError.self) { try c.validate() }
        let u = Universe(seed: 1, symbols: [.crypto: ["BTC-USD"], .forex: ["EUR/USD"]], rates: [:])
        #expect(u.spec(restTicker: "X:BTCUSD")?.name == "BTC-USD")
        #expect(u.spec(restTicker: "C:EURUSD")?.name == "EUR/USD")
        #expect(u.spec(restTicker: "AAPL")?.name == "AAPL")
        #expect(u.spec(restTicker: "O:SPY251219C00650000")?.market == .options)
    }

    @Test("subscription params")
    func subscriptions() {
        var s = Subscriptions()
        #expect(s.apply("T.BRK.B", subscribe: true, market: .stocks) == .ok)
        #expect(s.mask(for: "BRK.B") == EventKind.trade.maskBit)
        #expect(s.apply("XT.*", subscribe: true, market: .stocks) == .invalid)
        var crypto = Subscriptions()
        #expect(crypto.apply("XT.*", subscribe: true, market: .crypto) == .ok)
        #expect(crypto.mask(for: "BTC-USD") == EventKind.trade.maskBit)
        #expect(s.apply("NOI.*", subscribe: true, market: .stocks) == .ignoredChannel)
        #expect(s.apply("T", subscribe: true, market: .stocks) == .invalid)
        #expect(s.apply("T.", subscribe: true, market: .stocks) == .invalid)
        #expect(s.apply("T.BRK.B", subscribe: false, market: .stocks) == .ok)
        #expect(s.mask(for: "BRK.B") == 0)
    }

    @Test("generation and encoding throughput (debug builds are far slower than release)")
    func throughput() {
        let r = SimulatorBenchmark.run(events: 100_000)
        print("simulator generate+encode: \(Int(r.eventsPerSecond)) events/s, \(r.bytesPerEvent) bytes/event")
        #expect(r.events == 100_000)
        #expect(r.eventsPerSecond > 10_000)
    }
}
