import Archive
import Foundation
import Testing
import TickBusCore

private let t0: Int64 = 1_706_745_599_000_000_000 // 2024-01-31 23:59:59 UTC

private func bar(_ symbol: String, _ t: Int64, interval: UInt32 = 1, flags: RecordFlags = [], close: Int64 = 2) -> Record {
    .bar(Bar(header: RecordHeader(market: .stocks, flags: flags, tsEvent: t, tsRecv: t, symbol: try! Symbol(symbol)),
             open: Price(units: 1), high: Price(units: 3), low: Price(units: 1), close: Price(units: close), volume: 10,
             tradeCount: 2, interval: try! BarInterval(seconds: interval)))
}

private func lines(_ dir: TemporaryDirectory, _ path: String) throws -> [String] {
    try dir.read(path).split(separator: "\n").map(String.init)
}

@Suite struct ArchiveWriterTests {
    @Test func recordsGoToTheirTreesAndMonthsByTheirOwnTime() throws {
        let dir = try TemporaryDirectory()
        let writer = ArchiveWriter(configuration: .init(directory: dir.path))
        let sec: Int64 = 1_000_000_000
        #expect(writer.add(bar("SPY", t0)) != nil)
        #expect(writer.add(bar("SPY", t0 + sec)) != nil)                                // February
        #expect(writer.add(bar("SPY", t0 - 59 * sec, interval: 60)) != nil)
        #expect(writer.add(bar("SPY", t0 - 14 * sec, interval: 15, flags: .local)) != nil)
        #expect(writer.add(bar("EUR/USD", t0, flags: [.historical])) != nil)
        #expect(writer.add(.trade(Trade(header: RecordHeader(market: .stocks, tsEvent: t0, tsRecv: t0, symbol: "BRK.B"),
                                         price: Price(units: 5), size: 1))) != nil)
        #expect(writer.add(.quote(Quote(header: RecordHeader(market: .options, tsEvent: t0, tsRecv: t0, symbol: "O:SPY251219C00650000"),
                                         bidPrice: .null, askPrice: Price(units: 2), bidSize: 0, askSize: 3))) != nil)
        #expect(writer.add(.status(Status(header: RecordHeader(market: .unknown, tsEvent: t0, tsRecv: t0, symbol: "ingest"),
                                           level: .info, json: "{}"))) == nil)
        var events: [ArchiveWriter.Event] = []
        writer.flush { events.append($0) }
        #expect(events.isEmpty)
        #expect(writer.counters.rows == 7)
        #expect(try lines(dir, "raw_1s/SPY/SPY_2024_01.csv") == [BarCSV.header, "2024-01-31 23:59:59+00:00,1.0,3.0,1.0,2.0,10"])
        #expect(try lines(dir, "raw_1s/SPY/SPY_2024_02.csv") == [BarCSV.header, "2024-02-01 00:00:00+00:00,1.0,3.0,1.0,2.0,10"])
        #expect(try lines(dir, "raw_1min/SPY/SPY_2024_01.csv").count == 2)
        #expect(try lines(dir, "aggregated/15s/SPY_2024_01_15s.csv")[1].hasPrefix("2024-01-31 23:59:45+00:00,"))
        #expect(try lines(dir, "raw_1s/EUR-USD/EUR-USD_2024_01.csv").count == 2)
        #expect(try lines(dir, "trades/BRK.B/BRK.B_2024_01.csv")
            == [RecordCSV.tradeHeader, "2024-01-31 23:59:59.000000000+00:00,5,1,0,0,,0,,2024-01-31 23:59:59.000000000+00:00"])
        #expect(try lines(dir, "quotes/O:SPY251219C00650000/O:SPY251219C00650000_2024_01.csv")[1]
            == "2024-01-31 23:59:59.000000000+00:00,,0,2,3,0,0,0,0,0,2024-01-31 23:59:59.000000000+00:00")
        writer.close()
    }

    @Test func revisionsReplaceLateBarsAreCountedAndBadSymbolsRefused() throws {
        let dir = try TemporaryDirectory()
        let writer = ArchiveWriter(configuration: .init(directory: dir.path))
        writer.add(bar("AAPL", t0 - 2_000_000_000, flags: .local))
        writer.add(bar("AAPL", t0 - 1_000_000_000, flags: .local))
        writer.flush { _ in }
        writer.add(bar("AAPL", t0 - 2_000_000_000, flags: [.local, .revision], close: 3))
        #expect(writer.add(bar("AAPL", t0 - 1_000_000_000, flags: [.local, .late], close: 9)) == nil)
        // A symbol can hold `.` but must start with a letter or digit: `..` can never become a path.
        #expect(writer.add(bar("..", t0)) == nil)
        #expect(writer.add(bar("..", t0 + 1)) == nil)
        var events: [ArchiveWriter.Event] = []
        writer.flush { events.append($0) }
        #expect(events.count == 1)
        if case .refused(let symbol, _) = events.first { #expect(symbol == "..") } else { Issue.record("\(events)") }
        #expect(writer.counters.refused == 2)
        #expect(writer.counters.late == 1)
        #expect(try lines(dir, "aggregated/1s/AAPL_2024_01_1s.csv") == [
            BarCSV.header, "2024-01-31 23:59:57+00:00,1.0,3.0,1.0,3.0,10", "2024-01-31 23:59:58+00:00,1.0,3.0,1.0,2.0,10"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["aggregated"])
    }

    /// An unwritable directory (a file where `raw_1s` should be): reported once, rows kept and
    /// retried; once it is fixed every row lands, in order.
    @Test func anUnwritableDirectoryKeepsRowsUntilItIsFixed() throws {
        let dir = try TemporaryDirectory()
        try "in the way".write(toFile: dir.path + "/raw_1s", atomically: false, encoding: .utf8)
        let writer = ArchiveWriter(configuration: .init(directory: dir.path))
        var events: [ArchiveWriter.Event] = []
        for i in 0..<3 {
            writer.add(bar("SPY", t0 - Int64(10 - i) * 1_000_000_000))
            writer.flush { events.append($0) }
        }
        #expect(events.count == 1)
        if case .writeFailed(let path, let error, let buffered) = events.first {
            #expect(path.hasSuffix("raw_1s/SPY/SPY_2024_01.csv"))
            #expect(error.contains("raw_1s"))
            #expect(buffered == 1)
        } else { Issue.record("\(events)") }
        #expect(writer.counters.buffered == 3)
        #expect(writer.counters.writeErrors == 3)
        try FileManager.default.removeItem(atPath: dir.path + "/raw_1s")
        events = []
        writer.flush { events.append($0) }
        #expect(events.count == 1)
        if case .recovered = events.first {} else { Issue.record("\(events)") }
        #expect(writer.counters.buffered == 0)
        #expect(try lines(dir, "raw_1s/SPY/SPY_2024_01.csv").count == 4)
    }

    /// Disk full (the file is /dev/full): the oldest rows beyond the bound are dropped and
    /// counted, the newest kept; a new file takes them.
    @Test func aFullDiskDropsTheOldestBeyondTheBound() throws {
        let dir = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.path + "/raw_1s/SPY", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/raw_1s/SPY/SPY_2024_01.csv", withDestinationPath: "/dev/full")
        let writer = ArchiveWriter(configuration: .init(directory: dir.path, maxBufferedRows: 5))
        var events: [ArchiveWriter.Event] = []
        for i in 0..<8 { writer.add(bar("SPY", t0 - Int64(20 - i) * 1_000_000_000)) }
        writer.flush { events.append($0) }
        #expect(writer.counters.dropped == 3)
        #expect(writer.counters.buffered == 5)
        #expect(events.contains(.dropped(rows: 3)))
        #expect(events.contains { if case .writeFailed = $0 { true } else { false } })
        try FileManager.default.removeItem(atPath: dir.path + "/raw_1s/SPY/SPY_2024_01.csv")
        writer.flush { _ in }
        let written = try lines(dir, "raw_1s/SPY/SPY_2024_01.csv")
        #expect(written.count == 6)
        #expect(written[1].hasPrefix("2024-01-31 23:59:42+00:00"))
    }
}

/// pandas reads the trade and quote files back to the same values: times to the nanosecond,
/// prices, sizes, a one-sided quote's missing bid as NaN.
@Suite struct RecordCSVPandasTests {
    @Test func pandasReadsTradesAndQuotesBack() throws {
        let dir = try TemporaryDirectory()
        let writer = ArchiveWriter(configuration: .init(directory: dir.path))
        var expected: [String] = []
        for i in 0..<50 {
            let t = t0 - 86_400_000_000_000 + Int64(i) * 123_456_789
            var conditions = Conditions()
            if i % 3 == 0 { _ = conditions.append(12); _ = conditions.append(37) }
            writer.add(.trade(Trade(header: RecordHeader(market: .stocks, tsEvent: t, tsRecv: t + 5, symbol: "AAPL"),
                                    price: Price(raw: 475_000_000_000 + Int64(i) * 1_000_001), size: Double(i) + 0.5,
                                    upstreamSequence: Int64(i), exchange: 4, tape: 3, conditions: conditions,
                                    tradeID: try FixedString(i == 7 ? "a,\"b" : "\(i)"))))
            writer.add(.quote(Quote(header: RecordHeader(market: .stocks, tsEvent: t, tsRecv: t, symbol: "AAPL"),
                                    bidPrice: i == 9 ? .null : Price(units: 10), askPrice: Price(raw: 10_000_000_001),
                                    bidSize: 1, askSize: 2)))
            expected.append("\(t) \(Price(raw: 475_000_000_000 + Int64(i) * 1_000_001).doubleValue) \(i % 3 == 0 ? "12 37" : "nan") \(i == 7 ? "a,\"b" : "\(i)")")
        }
        writer.flush { _ in }
        let script = """
            import sys, pandas as pd
            t = pd.read_csv(sys.argv[1], parse_dates=["ts_event", "ts_recv"], dtype={"trade_id": str, "conditions": str})
            for r in t.itertuples():
                print(r.ts_event.value, repr(float(r.price)), r.conditions, r.trade_id)
            q = pd.read_csv(sys.argv[2], parse_dates=["ts_event"])
            print(len(q), int(q.bid_price.isna().sum()), repr(float(q.ask_price.iloc[0])), str(q.ts_event.dtype))
            """
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", script, dir.path + "/trades/AAPL/AAPL_2024_01.csv", dir.path + "/quotes/AAPL/AAPL_2024_01.csv"]
        let output = Pipe()
        python.standardOutput = output
        try python.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        python.waitUntilExit()
        try #require(python.terminationStatus == 0)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(Array(lines.prefix(50)) == expected)
        #expect(lines.last == "50 1 10.000000001 datetime64[ns, UTC]")
    }

    /// The old pipeline's own bytes: pandas reads a bars file the archive wrote (arrivals out of
    /// order, a revision) and writes it back as the old scripts did; the bytes are the same. A
    /// crypto file's volumes are floats from its first row (`3000.0`), so a fractional volume
    /// that comes later keeps the file what pandas writes; prices below 1e-4 are `2.344e-05`.
    @Test(arguments: [Market.stocks, .crypto])
    func barFilesAreWhatPandasWrites(_ market: Market) throws {
        let dir = try TemporaryDirectory()
        let writer = ArchiveWriter(configuration: .init(directory: dir.path))
        let base: Int64 = 1_704_187_800_000_000_000
        let tiny = market == .crypto
        for i in [3, 0, 1, 2, 5, 4, 7, 6] as [Int64] {
            writer.add(.bar(Bar(header: RecordHeader(market: market, tsEvent: base + i * 1_000_000_000, tsRecv: 0, symbol: "SPY"),
                                open: Price(raw: tiny ? 23_440 + i : 475_000_000_000 + i * 10_000_000), high: Price(units: 476 + i),
                                low: Price(raw: tiny ? 10_000 : 474_990_000_000), close: Price(raw: 475_123_400_000 - i),
                                volume: tiny && i == 7 ? 0.25 : Double(i * 1000), interval: .second)))
            if i == 5 { writer.flush { _ in } }
        }
        writer.add(.bar(Bar(header: RecordHeader(market: market, flags: .revision, tsEvent: base + 2_000_000_000, tsRecv: 0, symbol: "SPY"),
                            open: Price(units: 1), high: Price(units: 2), low: Price(units: 1), close: Price(units: 2), volume: 3,
                            interval: .second)))
        writer.flush { _ in }
        let path = dir.path + "/raw_1s/SPY/SPY_2024_01.csv"
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", """
            import sys, pandas as pd
            pd.read_csv(sys.argv[1], parse_dates=["ts_event"]).set_index("ts_event").to_csv(sys.argv[2])
            """, path, dir.path + "/pandas.csv"]
        try python.run()
        python.waitUntilExit()
        try #require(python.terminationStatus == 0)
        let ours = try dir.read("raw_1s/SPY/SPY_2024_01.csv")
        #expect(ours.split(separator: "\n").count == 9)
        #expect(ours.contains(tiny ? "2024-01-02 09:30:02+00:00,1.0,2.0,1.0,2.0,3.0\n" : "2024-01-02 09:30:02+00:00,1.0,2.0,1.0,2.0,3\n"))
        if tiny { #expect(ours.contains("2024-01-02 09:30:00+00:00,2.344e-05,476.0,1e-05,475.1234,0.0\n")) }
        #expect(try dir.read("pandas.csv") == ours)
    }
}
