import TickBusCore

/// Realistic records for benchmarks.
enum SampleRecords {
    static let symbols: [Symbol] = ["AAPL", "MSFT", "SPY", "QQQ", "NVDA", "TSLA", "AMZN", "BRK.B"]

    static func trade(_ i: Int, now: Int64) -> Record {
        var conditions = Conditions()
        conditions.append(12)
        conditions.append(37)
        return .trade(Trade(
            header: RecordHeader(market: .stocks, tsEvent: now, tsRecv: now, symbol: symbols[i & 7]),
            price: Price(raw: 475_320_000_000 + Int64(i % 1000) * 10_000_000), size: Double(100 + i % 300),
            upstreamSequence: Int64(i), exchange: 4, tape: 3, conditions: conditions, tradeID: "52983525029461"))
    }
}
