import TickBusCore

/// Deterministic records and values that exercise every type the codec writes, with nulls and
/// infinities: `tickbus kdb samples` prints them encoded so that another decoder (pykx, KX's own
/// C deserializer) can check every message this codec writes.
public enum KSamples {
    static let symbols: [Symbol] = ["AAPL", "MSFT", "SPY", "BRK.B", "O:SPY251219C00650000", "BTC-USD", "EUR/USD"]
    /// 2024-05-01T13:30:00.123456789Z in ns since the Unix epoch.
    public static let baseTime: Int64 = 1_714_570_200_123_456_789

    public static func trades(_ n: Int) -> [Trade] {
        (0..<n).map { i in
            var c = Conditions()
            for k in 0..<(i % 5) { c.append(UInt16(12 + k * 25)) }
            let event = baseTime + Int64(i) * 1_000_001
            let flags: RecordFlags = i % 7 == 3 ? .historical : []
            let header = RecordHeader(
                market: .stocks, flags: flags, tsEvent: event, tsRecv: event + 250_000, symbol: symbols[i % symbols.count])
            let price = i % 97 == 5 ? Price.null : Price(raw: 189_500_000_000 + Int64(i % 1000) * 10_000_000)
            let size = i % 11 == 0 ? 0.5 : Double(100 * (i % 9 + 1))
            let id = i % 6 == 0 ? FixedString() : (try! FixedString(String(52_983_525_029_461 + i)))
            return Trade(
                header: header, price: price, size: size, upstreamSequence: Int64(i) * 3 + 1,
                exchange: UInt16(i % 20), tape: UInt8(i % 4), conditions: c, tradeID: id)
        }
    }

    public static func quotes(_ n: Int) -> [Quote] {
        (0..<n).map { i in
            let event = baseTime + Int64(i) * 777
            let header = RecordHeader(
                market: .stocks, tsEvent: event, tsRecv: event + 90_000, symbol: symbols[(i * 3) % symbols.count])
            let step = Int64(i % 50) * 10_000_000
            let bid = Price(raw: 189_490_000_000 + step)
            let ask = i % 13 == 0 ? Price.null : Price(raw: 189_510_000_000 + step)
            let bidSize = Double(i % 9 + 1) * 100
            let askSize = Double(i % 7 + 1) * 100
            return Quote(
                header: header, bidPrice: bid, askPrice: ask, bidSize: bidSize, askSize: askSize,
                upstreamSequence: Int64(i), bidExchange: UInt16(i % 19), askExchange: UInt16(i % 17),
                condition: UInt16(i % 3), tape: 1)
        }
    }

    /// Bars with their topic kinds (`A`, `AM`, `B5s`).
    public static func bars(_ n: Int) -> [(bar: Bar, source: String)] {
        let intervals: [BarInterval] = [.second, .minute, try! BarInterval(seconds: 5)]
        return (0..<n).map { i in
            let interval = intervals[i % 3]
            let local = i % 3 == 2
            var flags: RecordFlags = local ? [.local] : []
            if i % 4 == 1 { flags.insert(.revision) }
            let start: Int64 = 1_714_570_200_000_000_000 + Int64(i) * 1_000_000_000
            let header = RecordHeader(
                market: .stocks, flags: flags, tsEvent: start, tsRecv: baseTime + Int64(i), symbol: symbols[i % 3])
            let vwap = i % 5 == 0 ? Price.null : Price(raw: 189_100_000_000)
            let volume = i % 8 == 0 ? Double.nan : Double(1000 + i)
            let bar = Bar(
                header: header, open: Price(units: 189), high: Price(units: 190), low: Price(units: 188),
                close: Price(raw: 189_250_000_000), vwap: vwap, volume: volume, tradeCount: UInt64(i * 2),
                interval: interval)
            let source = local ? "B" + interval.label : (interval == .second ? "A" : "AM")
            return (bar, source)
        }
    }

    /// Named values covering every market-data type, nulls and infinities, and the container types.
    public static func values() -> [(name: String, value: KValue)] {
        var out: [(String, KValue)] = [
            ("boolean atom", .boolean(true)),
            ("byte atom", .atom(.byte, .integer(0xAB))),
            ("short atoms", .list([.atom(.short, .integer(-234)), .atom(.short, .integer(Int64(KNull.short))), .atom(.short, .integer(Int64(KNull.shortInfinity))), .atom(.short, .integer(-Int64(KNull.shortInfinity)))])),
            ("int atoms", .list([.int(7), .int(KNull.int), .int(KNull.intInfinity), .int(-KNull.intInfinity)])),
            ("long atoms", .list([.long(42), .long(KNull.long), .long(KNull.longInfinity), .long(-KNull.longInfinity)])),
            ("real atoms", .list([.atom(.real, .real(5.5)), .atom(.real, .real(KNull.real)), .atom(.real, .real(.infinity)), .atom(.real, .real(-.infinity))])),
            ("float atoms", .list([.float(3.234), .float(KNull.float), .float(.infinity), .float(-.infinity)])),
            ("char atom", .atom(.char, .integer(0x61))),
            ("symbol atoms", .list([.symbol("AAPL"), .symbol("")])),
            ("timestamp atoms", .list([.timestamp(767_885_400_123_456_789), .timestamp(-1_000_000_000), .timestamp(KNull.long)])),
            ("date atoms", .list([.date(8887), .date(KNull.int)])),
            ("time atom", .atom(.time, .integer(34_200_123))),
            ("timespan atom", .atom(.timespan, .integer(34_200_000_000_001))),
            ("month atom", .atom(.month, .integer(292))),
            ("boolean vector", .vector(.boolean, .bytes([0, 1, 0]))),
            ("byte vector", .vector(.byte, .bytes([0, 1, 255]))),
            ("short vector", .vector(.short, .shorts([1, KNull.short, KNull.shortInfinity, -KNull.shortInfinity]))),
            ("int vector", .vector(.int, .ints([1, KNull.int, KNull.intInfinity, -KNull.intInfinity]))),
            ("long vector", .vector(.long, .longs([300, KNull.long, KNull.longInfinity, -KNull.longInfinity]))),
            ("real vector", .vector(.real, .reals([1.5, KNull.real, .infinity, -.infinity]))),
            ("float vector", .vector(.float, .floats([189.5, KNull.float, .infinity, -.infinity]))),
            ("char vector", .string("BS")),
            ("symbol vector sorted", .symbols(["AAPL", "MSFT", ""], attribute: .sorted)),
            ("symbol vector grouped", .symbols(["AAPL", "AAPL"], attribute: .grouped)),
            ("timestamp vector", .vector(.timestamp, .longs([767_885_400_000_000_001, KNull.long, KNull.longInfinity]))),
            ("date vector", .vector(.date, .ints([8887, 0, KNull.int]))),
            ("time vector", .vector(.time, .ints([34_200_000, KNull.int]))),
            ("timespan vector", .vector(.timespan, .longs([34_200_000_000_000, KNull.long]))),
            ("empty list", .list([])),
            ("general list", .list([.long(1), .symbol("a"), .string("bc"), .identity])),
            ("dictionary", .dictionary(keys: .symbols(["a", "b"]), values: .vector(.int, .ints([2, 3])))),
            ("table", .table(columns: ["sym", "px"], values: [.symbols(["AAPL", "MSFT"]), .vector(.float, .floats([1.5, 2.5]))])),
            ("keyed table", .dictionary(
                keys: .table(columns: ["k"], values: [.vector(.long, .longs([1, 2]))]),
                values: .table(columns: ["v"], values: [.symbols(["a", "b"])]))),
            ("trade schema", TickTable.trade.emptyTable()),
            ("quote schema", TickTable.quote.emptyTable()),
            ("bar schema", TickTable.bar.emptyTable()),
        ]
        out.append(("large long vector (compressed)", .vector(.long, .longs((0..<5000).map { Int64($0 % 100) }))))
        return out
    }

    /// Every sample message: generic values, then `.u.upd` and subscriber batches written by
    /// ``TickBatch``, each with the value it must decode to.
    public static func messages() -> [(name: String, bytes: [UInt8], value: KValue)] {
        var out: [(String, [UInt8], KValue)] = []
        for (name, value) in values() {
            let buffer = KBuffer()
            try! KMessage.encode(value, type: .async, into: buffer)
            if name.hasSuffix("(compressed)") { KMessage.compressIfWorthIt(buffer) }
            out.append((name, buffer.array, value))
        }
        out.append(("error response", try! KMessage.encode(.error("nyi"), type: .response), .error("nyi")))
        let time: Int64 = 48_600_123_456_789
        for n in [1, 1000] {
            let trades = trades(n), quotes = quotes(n), bars = bars(n)
            let t = TickBatch(table: .trade), q = TickBatch(table: .quote), b = TickBatch(table: .bar)
            for x in trades { t.append(x) }
            for x in quotes { q.append(x) }
            for x in bars { b.append(x.bar, source: try! FixedString(x.source)) }
            let cols: [(TickBatch, [KValue])] = [
                (t, TickRows.columns(trades)), (q, TickRows.columns(quotes)),
                (b, TickRows.columns(bars.map(\.bar), sources: bars.map(\.source))),
            ]
            for (batch, columns) in cols {
                let upd = KBuffer(), pub = KBuffer()
                batch.encodeUpd(into: upd)
                batch.encodeTable(time: time, into: pub)
                out.append((".u.upd \(batch.name) \(n) rows", upd.array, TickRows.upd(batch.name, columns)))
                out.append((
                    "upd \(batch.name) table \(n) rows", pub.array,
                    TickRows.published(batch.table, name: batch.name, time: time, columns)
                ))
            }
        }
        return out
    }
}
