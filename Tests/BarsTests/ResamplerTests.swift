import Bars
import Testing
import TickBusCore

@Suite struct ResamplerTests {
    func p(_ text: String) -> Price { try! Price(parsing: text) }

    @Test func bucketsAreAlignedToTheEpochAndLabelledByTheirStart() throws {
        var resampler = Resampler(intervals: [try #require(BarInterval(label: "15s")), .minute])
        var out: [(Int, BarAccumulator)] = []
        let t0: Int64 = 1_704_205_800_000_000_000  // 14:30:00
        for (offset, price) in [(0, "10"), (14, "12"), (15, "9"), (59, "11"), (60, "10.5")] {
            try resampler.add(start: t0 + Int64(offset) * 1_000_000_000, open: p(price), high: p(price), low: p(price),
                              close: p(price), volume: 1) { out.append(($0, $1)) }
        }
        resampler.finish { out.append(($0, $1)) }
        let fifteen = out.filter { $0.0 == 0 }.map(\.1), minutes = out.filter { $0.0 == 1 }.map(\.1)
        #expect(fifteen.map { ($0.start - t0) / 1_000_000_000 } == [0, 15, 45, 60])
        #expect(fifteen[0].open == p("10") && fifteen[0].close == p("12") && fifteen[0].high == p("12") && fifteen[0].volume == 2)
        #expect(minutes.count == 2)
        #expect(minutes[0].open == p("10") && minutes[0].high == p("12") && minutes[0].low == p("9") && minutes[0].close == p("11"))
        #expect(minutes[0].volume == 4)
    }

    @Test func outOfOrderInputIsRefused() throws {
        var resampler = Resampler(intervals: [.minute])
        try resampler.add(start: 120_000_000_000, open: p("1"), high: p("1"), low: p("1"), close: p("1"), volume: 1) { _, _ in }
        #expect(throws: ResamplerError.self) {
            try resampler.add(start: 60_000_000_000, open: p("1"), high: p("1"), low: p("1"), close: p("1"), volume: 1) { _, _ in }
        }
    }

    @Test func tradesUpdateOnlyWhatTheirConditionsAllow() {
        var bar = BarAccumulator(start: 0)
        bar.add(price: p("10"), size: 100)
        bar.add(price: p("20"), size: 5, updates: [.volume])  // e.g. an odd lot
        bar.add(price: p("8"), size: 100, updates: [.highLow, .volume])  // out of sequence
        bar.add(price: p("11"), size: 100)
        #expect(bar.open == p("10") && bar.close == p("11") && bar.high == p("11") && bar.low == p("8"))
        #expect(bar.volume == 305 && bar.tradeCount == 4)
        #expect(abs(bar.vwap.doubleValue - (10.0 * 100 + 20 * 5 + 8 * 100 + 11 * 100) / 305) < 1e-6)
    }
}
