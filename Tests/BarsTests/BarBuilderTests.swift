import Bars
import Testing
import TickBusCore

/// A trade at `ms` (ms since the epoch), received at `recvMs`.
func trade(
    _ symbol: Symbol = "AAPL", ms: Int64, _ price: Double, _ size: Double, _ codes: [UInt16] = [],
    market: Market = .stocks, recvMs: Int64? = nil
) -> Trade {
    Trade(header: RecordHeader(market: market, tsEvent: ms * 1_000_000, tsRecv: (recvMs ?? ms) * 1_000_000, symbol: symbol),
          price: Price(rounding: price), size: size, conditions: try! Conditions(codes))
}

func bars(_ records: [Record]) -> [Bar] { records.compactMap { if case .bar(let b) = $0 { b } else { nil } } }

/// Feeds `trades` to a 1 s builder and closes everything; returns the bars.
func oneSecondBars(_ trades: [Trade]) -> [Bar] {
    var builder = BarBuilder(intervals: [.second])
    var out: [Record] = []
    for t in trades { builder.add(t) { out.append($0) } }
    builder.close(upTo: .max) { out.append($0) }
    return bars(out)
}

let s = Int64(1_704_187_800_000)  // 2024-01-02T09:30:00Z, ms

@Suite struct TradeConditionTableTests {
    @Test func tableIsDataWithUniqueCodesAndKnownClasses() {
        let codes = TradeConditions.stockEntries.map(\.code)
        #expect(Set(codes).count == codes.count)
        let table = TradeConditions.stocks
        #expect(table.updates(code: 37) == .volume)
        #expect(table.updates(code: 2) == .volume)
        #expect(table.updates(code: 14) == .all)
        #expect(table.updates(code: 32) == [.highLow, .volume])
        #expect(table.updates(code: 15) == [])
        #expect(table.updates(code: 38) == [.highLow, .openClose])
        #expect(table.updates(code: 999) == .all, "unknown codes are regular")
        #expect(table.updates(try! Conditions([14, 37])) == .volume, "intersection")
        #expect(table.updates(Conditions()) == .all, "no codes: regular sale")
    }

    @Test func regularSalesUpdateEverything() {
        let b = oneSecondBars([trade(ms: s + 1, 10, 100), trade(ms: s + 2, 12, 200, [14]),
                               trade(ms: s + 3, 9, 100, [41]), trade(ms: s + 4, 11, 100, [14, 41])])
        #expect(b.count == 1)
        let bar = b[0]
        #expect(bar.open == Price(rounding: 10) && bar.high == Price(rounding: 12))
        #expect(bar.low == Price(rounding: 9) && bar.close == Price(rounding: 11))
        #expect(bar.volume == 500 && bar.tradeCount == 4)
        #expect(bar.vwap == Price(rounding: (1000.0 + 2400 + 900 + 1100) / 500))
        #expect(bar.header.tsEvent == s * 1_000_000 && bar.header.flags == .local && bar.interval == .second)
    }

    @Test(arguments: [[37], [2], [7], [12], [13], [20], [21], [29], [52], [53], [14, 37]] as [[UInt16]])
    func volumeOnlyConditions(codes: [UInt16]) {
        // Odd lots, average price, cash, Form T, late extended-hours, next day, …: volume, VWAP
        // and count only.
        let b = oneSecondBars([trade(ms: s + 1, 10, 100), trade(ms: s + 2, 20, 50, codes), trade(ms: s + 3, 11, 100)])
        #expect(b.count == 1)
        #expect(b[0].high == Price(rounding: 11) && b[0].low == Price(rounding: 10) && b[0].close == Price(rounding: 11))
        #expect(b[0].volume == 250 && b[0].tradeCount == 3)
        #expect(b[0].vwap == Price(rounding: (1000.0 + 1000 + 1100) / 250))
        // Alone they make no bar.
        #expect(oneSecondBars([trade(ms: s + 1, 10, 50, codes), trade(ms: s + 2, 10, 50, codes)]).isEmpty)
    }

    @Test(arguments: [[32], [33], [5], [10], [22], [17]] as [[UInt16]])
    func outOfSequenceConditionsUpdateHighLowNotOpenClose(codes: [UInt16]) {
        let b = oneSecondBars([trade(ms: s + 1, 10, 100), trade(ms: s + 2, 13, 100, codes), trade(ms: s + 3, 8, 100, codes)])
        #expect(b.count == 1)
        #expect(b[0].open == Price(rounding: 10) && b[0].close == Price(rounding: 10))
        #expect(b[0].high == Price(rounding: 13) && b[0].low == Price(rounding: 8))
        #expect(b[0].volume == 300 && b[0].tradeCount == 3)
        // High/low alone make no bar: a bar needs an open.
        #expect(oneSecondBars([trade(ms: s + 1, 10, 100, codes)]).isEmpty)
    }

    @Test func officialOpenCloseAndCorrectedClose() {
        // 15/16 update nothing; 38 sets prices but adds no volume.
        let b = oneSecondBars([trade(ms: s + 1, 10, 100), trade(ms: s + 2, 50, 1000, [15]), trade(ms: s + 3, 1, 1000, [16]),
                               trade(ms: s + 4, 10.5, 999, [38])])
        #expect(b.count == 1)
        #expect(b[0].high == Price(rounding: 10.5) && b[0].low == Price(rounding: 10) && b[0].close == Price(rounding: 10.5))
        #expect(b[0].volume == 100 && b[0].tradeCount == 1 && b[0].vwap == Price(rounding: 10))
        #expect(oneSecondBars([trade(ms: s + 1, 10, 100, [15])]).isEmpty)
    }

    @Test func unknownCodesAreRegularAndOtherMarketsIgnoreTheStockTable() {
        #expect(oneSecondBars([trade(ms: s + 1, 10, 100, [99])]).count == 1)
        // Crypto c:[2] (buy side) is not "average price".
        let crypto = oneSecondBars([trade("X:BTCUSD", ms: s + 1, 10, 0.5, [2], market: .crypto)])
        #expect(crypto.count == 1 && crypto[0].header.market == .crypto && crypto[0].volume == 0.5)
    }
}

@Suite struct BarBuilderTests {
    @Test func bucketsAreAlignedToTheUTCEpochAndStampedAtTheirStart() {
        var builder = BarBuilder(intervals: [.second, .minute, .hour, .day])
        var out: [Record] = []
        builder.add(trade(ms: s + 17_500, 10, 100)) { out.append($0) }
        builder.close(upTo: .max) { out.append($0) }
        let starts = bars(out).map { ($0.interval, $0.header.tsEvent / 1_000_000) }
        #expect(starts.map(\.0) == [.second, .minute, .hour, .day])
        #expect(starts.map(\.1) == [s + 17_000, s, s - 30 * 60_000, s - (9 * 3600 + 30 * 60) * 1000])
    }

    @Test func openAndCloseFollowTradeTimeNotArrival() {
        let b = oneSecondBars([trade(ms: s + 800, 11, 100), trade(ms: s + 200, 9, 100), trade(ms: s + 500, 10, 100)])
        #expect(b[0].open == Price(rounding: 9) && b[0].close == Price(rounding: 11))
    }

    @Test func closingWaitsForGraceAndClosesQuietSymbols() {
        var builder = BarBuilder(intervals: [.second, .minute])
        var out: [Record] = []
        builder.add(trade("AAPL", ms: s + 100, 10, 100)) { out.append($0) }
        builder.add(trade("MSFT", ms: s + 200, 20, 100)) { out.append($0) }
        builder.add(trade("AAPL", ms: s + 1_100, 11, 100)) { out.append($0) }
        builder.close(upTo: (s + 2_999) * 1_000_000) { out.append($0) }
        #expect(out.isEmpty, "grace: 1 s bucket ending at +1 s closes at +3 s")
        builder.close(upTo: (s + 3_000) * 1_000_000) { out.append($0) }
        let first = bars(out)
        #expect(first.map(\.header.symbol).sorted() == ["AAPL", "MSFT"], "the quiet symbol closes too")
        #expect(first.allSatisfy { $0.header.tsEvent == s * 1_000_000 && $0.header.tsRecv == (s + 3_000) * 1_000_000 })
        out.removeAll()
        builder.close(upTo: (s + 61_999) * 1_000_000) { out.append($0) }
        #expect(bars(out).map(\.interval) == [.second], "AAPL's second bar; minutes still open")
        out.removeAll()
        builder.close(upTo: (s + 62_000) * 1_000_000) { out.append($0) }
        let minutes = bars(out)
        #expect(minutes.count == 2 && minutes.allSatisfy { $0.interval == .minute && $0.header.flags == .local })
        #expect(minutes.first { $0.header.symbol == "AAPL" }?.volume == 200)
    }

    @Test func tradesForClosedBarsReviseThemWithinTheWindowAndAreLateAfter() {
        var builder = BarBuilder(intervals: [.second, .day])
        var out: [Record] = []
        builder.add(trade(ms: s + 100, 10, 100)) { out.append($0) }
        builder.close(upTo: (s + 5_000) * 1_000_000) { out.append($0) }
        #expect(bars(out).count == 1)
        out.removeAll()
        // A late print for the closed second: the bar again, same start, REVISION.
        builder.add(trade(ms: s + 900, 12, 100, recvMs: s + 5_500)) { out.append($0) }
        var revised = bars(out)
        #expect(revised.count == 1)
        #expect(revised[0].header.flags == [.local, .revision] && revised[0].header.tsEvent == s * 1_000_000)
        #expect(revised[0].close == Price(rounding: 12) && revised[0].high == Price(rounding: 12) && revised[0].volume == 200)
        #expect(revised[0].header.tsRecv == (s + 5_500) * 1_000_000)
        #expect(builder.revisions == 1)
        out.removeAll()
        // A volume-only print for a closed second that had no bar makes none.
        builder.add(trade(ms: s + 1_500, 12, 10, [37])) { out.append($0) }
        #expect(out.isEmpty)
        // …but an eligible one does, as a revision (an upsert for that start).
        builder.add(trade(ms: s + 1_600, 13, 100)) { out.append($0) }
        revised = bars(out)
        #expect(revised.count == 1 && revised[0].header.tsEvent == (s + 1_000) * 1_000_000)
        #expect(revised[0].header.flags.contains(.revision) && revised[0].volume == 110 && revised[0].tradeCount == 2)
        out.removeAll()
        // 15 minutes after the bucket's end it is forgotten: the trade is late for the second
        // bars (counted, emitted alone as a LATE addendum) and still counts in the open day.
        builder.close(upTo: (s + 1_000 + 900_001) * 1_000_000) { out.append($0) }
        #expect(out.isEmpty)
        builder.add(trade(ms: s + 200, 9, 100)) { out.append($0) }
        let late = bars(out)
        #expect(late.count == 1 && builder.lateTrades == 1)
        #expect(late.first?.header.flags == [.local, .late] && late.first?.header.tsEvent == s * 1_000_000)
        #expect(late.first?.close == Price(rounding: 9) && late.first?.volume == 100 && late.first?.interval == .second)
        out.removeAll()
        builder.close(upTo: .max) { out.append($0) }
        let day = bars(out)
        #expect(day.count == 1 && day[0].interval == .day)
        #expect(day[0].volume == 410 && day[0].low == Price(rounding: 9) && day[0].open == Price(rounding: 10))
        #expect(day[0].open == Price(rounding: 10), "open by trade time: the late 9 at +200 ms is after +100 ms")
    }

    @Test func fillClosesQuietBucketsAsFlatBarsAtTheLastClose() {
        var builder = BarBuilder(intervals: [.second], grace: .zero, fill: true)
        var out: [Record] = []
        builder.close(upTo: s * 1_000_000) { out.append($0) }
        builder.add(trade(ms: s + 100, 10, 100)) { out.append($0) }
        builder.add(trade(ms: s + 200, 11, 100)) { out.append($0) }
        // Nothing in the next two seconds but an odd lot (no prices): flat bars at 11.
        builder.add(trade(ms: s + 1_500, 50, 10, [37])) { out.append($0) }
        builder.close(upTo: (s + 3_000) * 1_000_000) { out.append($0) }
        var closed = bars(out)
        #expect(closed.map(\.header.tsEvent) == [s, s + 1_000, s + 2_000].map { $0 * 1_000_000 })
        #expect(closed.dropFirst().allSatisfy { $0.open == Price(rounding: 11) && $0.low == Price(rounding: 11) && $0.volume == 0 })
        #expect(closed.allSatisfy { $0.header.flags == .local })
        out.removeAll()
        // A trade for a flat second revises it; the quiet seconds after it stay flat at its price.
        builder.add(trade(ms: s + 2_500, 12, 100)) { out.append($0) }
        builder.close(upTo: (s + 5_000) * 1_000_000) { out.append($0) }
        closed = bars(out)
        #expect(closed.count == 3)
        #expect(closed[0].header.flags == [.local, .revision] && closed[0].close == Price(rounding: 12))
        #expect(closed[1...].map(\.header.tsEvent) == [s + 3_000, s + 4_000].map { $0 * 1_000_000 })
        // Without fill the quiet seconds make no bar.
        var plain = BarBuilder(intervals: [.second], grace: .zero)
        out.removeAll()
        plain.add(trade(ms: s + 100, 10, 100)) { out.append($0) }
        plain.close(upTo: (s + 5_000) * 1_000_000) { out.append($0) }
        #expect(bars(out).count == 1)
    }

    /// Second bars resampled into larger buckets: first open, max, min, last close, summed volume
    /// and counts, the VWAP volume-weighted; out-of-order input keeps open/close by bar time.
    @Test func barsFromSmallerBars() throws {
        func bar(_ second: Int64, _ o: Double, _ h: Double, _ l: Double, _ c: Double, _ v: Double, vwap: Double) -> Bar {
            Bar(header: RecordHeader(market: .stocks, tsEvent: (s + second * 1_000) * 1_000_000, tsRecv: 0, symbol: "SPY"),
                open: Price(rounding: o), high: Price(rounding: h), low: Price(rounding: l), close: Price(rounding: c),
                vwap: Price(rounding: vwap), volume: v, tradeCount: 2, interval: .second)
        }
        var builder = BarBuilder(intervals: [try BarInterval(seconds: 15)], grace: .zero)
        var out: [Record] = []
        for b in [bar(1, 10, 12, 9, 11, 100, vwap: 10.5), bar(0, 8, 10, 8, 9, 300, vwap: 9), bar(14, 11, 15, 11, 14, 100, vwap: 14),
                  bar(15, 20, 20, 20, 20, 1, vwap: 20)] {
            builder.add(b) { out.append($0) }
        }
        builder.close(upTo: (s + 15_000) * 1_000_000) { out.append($0) }
        let result = bars(out)
        #expect(result.count == 1)
        let b = try #require(result.first)
        #expect(b.header.tsEvent == s * 1_000_000 && b.interval.seconds == 15 && b.header.flags == .local)
        #expect([b.open, b.high, b.low, b.close] == [8, 15, 8, 14].map { Price(rounding: $0) })
        #expect(b.volume == 500 && b.tradeCount == 6)
        #expect(b.vwap == Price(rounding: (10.5 * 100 + 9 * 300 + 14 * 100) / 500))
    }
}
