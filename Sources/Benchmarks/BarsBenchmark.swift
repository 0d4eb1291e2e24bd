import Bars
import TickBusCore

/// `tickbus bars`' engine on one core: trades of 500 symbols, 10 µs apart (a busy market's
/// 100k trades/s), through a ``BarBuilder`` closed every simulated 100 ms, as the service does.
public enum BarsBenchmark {
    public static func run(trades count: Int) -> [Figure] {
        let symbols = (0..<500).map { try! Symbol("S\($0)") }
        var odd = Conditions()
        odd.append(37)
        let t0: Int64 = 1_704_187_800_000_000_000
        let trades = (0..<4096).map { (i: Int) -> Trade in
            let price = Price(raw: 475_320_000_000 + Int64(i % 97) * 10_000_000)
            let conditions = i % 10 == 0 ? odd : Conditions()
            return Trade(header: RecordHeader(market: .stocks, tsEvent: 0, tsRecv: 0, symbol: symbols[i % 500]),
                         price: price, size: Double(1 + i % 300), conditions: conditions)
        }
        var figures: [Figure] = []
        for (label, intervals) in [("1s", [BarInterval.second]), ("10 lengths 1s…1d", BarInterval.standard)] {
            var builder = BarBuilder(intervals: intervals)
            var bars = 0
            let start = MonotonicClock.nanoseconds()
            for i in 0..<count {
                var trade = trades[i & 4095]
                trade.header.tsEvent = t0 + Int64(i) * 10_000
                builder.add(trade) { _ in bars += 1 }
                if i % 10_000 == 9_999 { builder.close(upTo: trade.header.tsEvent) { _ in bars += 1 } }
            }
            let seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
            precondition(bars > 0)
            figures.append(Figure(name: "bars: trades → bars (\(label)), one core", value: Double(count) / seconds,
                                  unit: "trades/s", target: intervals.count == 1 ? ">= 5M" : nil))
        }
        return figures
    }
}
