import Archive
import Bus
import Foundation
import Synchronization
import TestSupport
import Testing
import TickBusCore
import ZeroMQ

/// `tickbus archive` as a real process behind real `sim`, `ingest` and `bars` processes.
@Suite(.serialized)
struct ArchiveProcessTests {
    /// Records a subscriber in this process sees, collected on a thread of its own.
    final class Collector: Sendable {
        private let records = Mutex<[Record]>([])
        private let stopping = Atomic<Bool>(false)
        private let done = DispatchSemaphore(value: 0)

        init(endpoints: [String], filters: [String]) throws {
            let context = try ZMQContext()
            let subscriber = try Subscriber(
                context: context, configuration: .init(endpoints: endpoints, filters: try filters.map { try TopicFilter($0) }))
            nonisolated(unsafe) let owned = subscriber
            Thread { [self] in
                defer { done.signal() }
                while !stopping.load(ordering: .relaxed) {
                    if case .record(let record) = try? owned.next(timeout: .milliseconds(50)) {
                        records.withLock { $0.append(record) }
                    }
                }
            }.start()
        }

        /// What arrived so far.
        var received: [Record] { records.withLock { $0 } }

        func stop() -> [Record] {
            stopping.store(true, ordering: .relaxed)
            done.wait()
            return records.withLock { $0 }
        }
    }

    /// Lines of a CSV file without its header; fails on a torn (unterminated) last line.
    func rows(_ path: String) throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasSuffix("\n"), "torn last line in \(path)")
        return Array(text.split(separator: "\n").map(String.init).dropFirst())
    }

    @Test func killedUnderLoadAndRestartedItLosesNothingWrittenAndRepeatsNothing() async throws {
        let simPort = freeTCPPort(), busPort = freeTCPPort()
        let barsPort = freeTCPPort(), statusPort = freeTCPPort()
        let bus = "tcp://127.0.0.1:\(busPort)", barsBus = "tcp://127.0.0.1:\(barsPort)"
        let data = NSTemporaryDirectory() + "tickbus-archive-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: data) }
        let sim = try TickBusProcess(["sim", "--port", "\(simPort)", "--rate", "5000", "--symbols", "AAPL,MSFT", "--market-time", "2025-03-04T14:30:00Z", "--day-totals-limit", "0"])
        defer { sim.interrupt(); sim.finish() }
        let ingest = try TickBusProcess([
            "ingest", "--url", "ws://127.0.0.1:\(simPort)/stocks", "--subscribe", "T.*,A.*", "--bus", bus,
            "--control", "tcp://127.0.0.1:\(freeTCPPort())", "--state-file", data + "/ingest-state.json",
        ])
        defer { ingest.interrupt(); ingest.finish() }
        let bars = try TickBusProcess(["bars", "--bus", bus, "--publish", barsBus, "--intervals", "1s,15s", "--grace", "0.5"])
        defer { bars.interrupt(); bars.finish() }
        let collector = try Collector(endpoints: [bus, barsBus], filters: ["T.", "A.", "B1s."])
        // The test's subscriber first, so it sees everything the archive gets.
        for _ in 0..<400 where !collector.received.contains(where: { if case .bar(let b) = $0 { b.header.flags.contains(.local) } else { false } }) {
            try await Task.sleep(for: .milliseconds(50))
        }
        let archiveArguments = [
            "archive", "--bus", bus, "--bus", barsBus, "--data-dir", data, "--flush-interval", "0.2",
            "--publish", "tcp://127.0.0.1:\(statusPort)",
        ]
        let first = try TickBusProcess(archiveArguments)
        let aaplTrades = data + "/trades/AAPL"
        for _ in 0..<300 where (try? FileManager.default.contentsOfDirectory(atPath: aaplTrades))?.isEmpty ?? true {
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .seconds(2.5))
        first.killHard()
        _ = await first.wait()
        try await Task.sleep(for: .seconds(0.5))
        let second = try TickBusProcess(archiveArguments)
        // It reports the loss on its first T.AAPL after the restart, then writes for a while.
        try await second.waitUntil(timeout: 60, "missed_while_down for T.AAPL") { _, err in
            err.split(separator: "\n").contains { $0.contains("missed_while_down") && $0.contains("\"T.AAPL\"") }
        }
        try await Task.sleep(for: .seconds(2))
        second.interrupt()
        let (status, _, err) = await second.wait()
        #expect(status == 0, "\(err)")
        let seen = collector.stop()

        // The restarted archive says what it missed while it was down, from its checkpoint: on
        // T.AAPL, the trades between the last it had and the first it got. The checkpoint is
        // saved after each flush's writes, so a kill between the two may overstate the loss by
        // that flush's rows (a prefix of the range, already in the file), never understate it.
        let report = try #require(err.split(separator: "\n").first { $0.contains("missed_while_down") && $0.contains("\"T.AAPL\"") },
                                  "no missed_while_down report for T.AAPL in: \(err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report[report.firstIndex(of: "{")!...report.firstIndex(of: "}")!].utf8)) as? [String: Any])
        let after = try #require(json["after_sequence"] as? Int), next = try #require(json["next_sequence"] as? Int)
        #expect(json["lost"] as? Int == next - after - 1 && next - after > 1)
        let missedTrades = seen.compactMap { record -> String? in
            guard case .trade(let t) = record, t.header.symbol == "AAPL", t.header.sequence > after, t.header.sequence < next else { return nil }
            var line: [UInt8] = []
            RecordCSV.append(t, to: &line)
            return String(decoding: line.dropLast(), as: UTF8.self)
        }
        #expect(missedTrades.count == next - after - 1, "the test's own subscriber saw the missed trades")
        let aaplRows = try FileManager.default.contentsOfDirectory(atPath: aaplTrades).filter { $0.hasSuffix(".csv") }
            .flatMap { try rows(aaplTrades + "/" + $0) }
        let written = Set(aaplRows)
        let firstMissing = missedTrades.firstIndex { !written.contains($0) } ?? missedTrades.count
        #expect(firstMissing < missedTrades.count, "some trades are really missing")
        #expect(missedTrades[firstMissing...].allSatisfy { !written.contains($0) }, "missing trades form the end of the range")

        // Every trade row is a trade the bus carried, once, in time order.
        var busTrades: [String: Set<String>] = [:]
        var busBars: [String: [String: String]] = [:] // "A"/"B1s" + symbol → start → row
        for record in seen {
            switch record {
            case .trade(let trade):
                var line: [UInt8] = []
                RecordCSV.append(trade, to: &line)
                busTrades[trade.header.symbol.description, default: []].insert(String(decoding: line.dropLast(), as: UTF8.self))
            case .bar(let bar):
                let row = BarCSV.line(BarRow(bar))
                busBars[(bar.header.flags.contains(.local) ? "B1s." : "A.") + bar.header.symbol.description, default: [:]][String(row.prefix(25))] = row
            default: break
            }
        }
        var total = 0
        for symbol in ["AAPL", "MSFT"] {
            let directory = data + "/trades/\(symbol)"
            for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasSuffix(".csv") {
                let lines = try rows(directory + "/" + file)
                total += lines.count
                #expect(Set(lines).count == lines.count, "a trade row written twice in \(file)")
                #expect(lines.allSatisfy { busTrades[symbol]?.contains($0) ?? false }, "a trade row the bus never carried in \(file)")
                let times = lines.map { $0.prefix(35) }
                #expect(times == times.sorted(), "\(file) not in time order")
            }
            // Upstream and built 1-second bars: one row per second, each the bar the bus carried.
            for (tree, prefix) in [("raw_1s/\(symbol)", "A."), ("aggregated/1s", "B1s.")] {
                let directory = data + "/" + tree
                for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasPrefix(symbol + "_") {
                    let lines = try rows(directory + "/" + file)
                    let starts = lines.map { String($0.prefix(25)) }
                    #expect(starts == Array(Set(starts)).sorted(), "\(file): not one row per second in order")
                    for line in lines { #expect(busBars[prefix + symbol]?[String(line.prefix(25))] == line, "\(file): \(line)") }
                    #expect(lines.count >= 3, "\(file) has \(lines.count) rows")
                }
            }
        }
        #expect(total > 1000, "only \(total) trades archived")
    }

    /// An unwritable directory: `S.archive` says so, the rows wait, and land once it is fixed.
    @Test func anUnwritableDirectoryIsReportedOnTheBusAndTheRowsLandLater() async throws {
        let data = NSTemporaryDirectory() + "tickbus-archive-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: data) }
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try "in the way".write(toFile: data + "/raw_1s", atomically: false, encoding: .utf8)
        let context = try ZMQContext()
        let publisher = try Publisher(context: context, configuration: .init(name: "test", endpoints: ["tcp://127.0.0.1:*"]))
        let status = "tcp://127.0.0.1:\(freeTCPPort())"
        let archive = try TickBusProcess([
            "archive", "--bus", publisher.endpoints[0], "--data-dir", data, "--flush-interval", "0.1", "--publish", status,
        ])
        defer { archive.interrupt(); archive.finish() }
        let statuses = try Collector(endpoints: [status], filters: ["S.archive", "H.archive"])
        #expect(try publisher.waitForSubscriber(matching: "A.SPY", timeout: .seconds(20)))
        // Connected to the status socket once a heartbeat came through.
        for _ in 0..<200 where statuses.received.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
        let t0: Int64 = 1_704_187_800_000_000_000
        for i in 0..<5 {
            _ = try publisher.publish(.bar(Bar(
                header: RecordHeader(market: .stocks, tsEvent: t0 + Int64(i) * 1_000_000_000, tsRecv: t0, symbol: "SPY"),
                open: Price(units: 1), high: Price(units: 2), low: Price(units: 1), close: Price(units: 2), volume: 10,
                interval: .second)))
        }
        try await Task.sleep(for: .seconds(1))
        try FileManager.default.removeItem(atPath: data + "/raw_1s")
        let file = data + "/raw_1s/SPY/SPY_2024_01.csv"
        for _ in 0..<200 where ((try? rows(file))?.count ?? 0) < 5 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try rows(file).count == 5)
        let events = statuses.stop().compactMap { if case .status(let s) = $0 { s.json } else { nil } }
        #expect(events.contains { $0.contains(#""event":"write_failed""#) && $0.contains("raw_1s") }, "\(events)")
        #expect(events.contains { $0.contains(#""event":"write_recovered""#) }, "\(events)")
    }

    /// Nothing is lost without a report across a `kill -9`: rows held in memory for a file that
    /// could not be written are not in the checkpoint (they are reported after the restart), a
    /// topic the files never had is checked too (a new symbol while the archive was down), and
    /// the reports reach an `S.archive` reader that connects after the restart.
    @Test func everyLossAcrossAKillIsReportedToALateReader() async throws {
        let data = NSTemporaryDirectory() + "tickbus-archive-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: data) }
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try "in the way".write(toFile: data + "/raw_1s", atomically: false, encoding: .utf8)
        let context = try ZMQContext()
        let publisher = try Publisher(
            context: context, configuration: .init(name: "test", endpoints: ["tcp://127.0.0.1:*"], epoch: 77))
        let t0: Int64 = 1_704_187_800_000_000_000
        func trade(_ symbol: Symbol, _ i: Int64) throws {
            _ = try publisher.publish(.trade(Trade(
                header: RecordHeader(market: .stocks, tsEvent: t0 + i * 1_000_000, tsRecv: t0, symbol: symbol),
                price: Price(units: 1), size: 1)))
        }
        func bar(_ i: Int64) throws {
            _ = try publisher.publish(.bar(Bar(
                header: RecordHeader(market: .stocks, tsEvent: t0 + i * 1_000_000_000, tsRecv: t0, symbol: "SPY"),
                open: Price(units: 1), high: Price(units: 2), low: Price(units: 1), close: Price(units: 2), volume: 10,
                interval: .second)))
        }
        let status = "tcp://127.0.0.1:\(freeTCPPort())"
        let arguments = ["archive", "--bus", publisher.endpoints[0], "--data-dir", data, "--flush-interval", "0.1", "--publish", status]

        let first = try TickBusProcess(arguments)
        #expect(try publisher.waitForSubscriber(matching: "A.SPY", timeout: .seconds(20)))
        for i in 1...3 { try trade("AAPL", Int64(i)) }  // T.AAPL 1-3: written
        for i in 1...5 { try bar(Int64(i)) }            // A.SPY 1-5: held, raw_1s cannot be made
        try await first.waitUntil(timeout: 20, "the write failure") { _, err in err.contains("rows kept and retried") }
        let checkpoint = data + "/.archive-checkpoint"
        for _ in 0..<400 where !((try? String(contentsOfFile: checkpoint, encoding: .utf8)) ?? "").contains("T.AAPL 77 3 ") {
            try await Task.sleep(for: .milliseconds(50))
        }
        let saved = (try? String(contentsOfFile: checkpoint, encoding: .utf8)) ?? ""
        #expect(saved.contains("T.AAPL 77 3 ") && !saved.contains("A.SPY"), "held rows are not in the checkpoint: \(saved)")
        try await Task.sleep(for: .seconds(0.3))        // more flushes: A.SPY still held
        first.killHard()
        _ = await first.wait()
        try FileManager.default.removeItem(atPath: data + "/raw_1s")
        for i in 4...5 { try trade("AAPL", Int64(i)) }  // while down
        try bar(6)
        for i in 1...2 { try trade("MSFT", Int64(i)) }  // a symbol new while down

        let second = try TickBusProcess(arguments)
        defer { second.interrupt(); second.finish() }
        #expect(try publisher.waitForSubscriber(matching: "T.MSFT", timeout: .seconds(20)))
        try trade("AAPL", 6)
        try bar(7)
        try trade("MSFT", 3)
        try await second.waitUntil(timeout: 20, "three reports in the log") { _, err in
            err.components(separatedBy: "missed_while_down").count > 3
        }
        try await Task.sleep(for: .seconds(1))
        // A reader that comes a while after the restart still hears every report.
        let statuses = try Collector(endpoints: [status], filters: ["S.archive"])
        var reports: [String: [String: Any]] = [:]
        for _ in 0..<200 where reports.count < 3 {
            try await Task.sleep(for: .milliseconds(50))
            for case .status(let s) in statuses.received where s.json.contains("missed_while_down") {
                let json = try #require(try JSONSerialization.jsonObject(with: Data(s.json.utf8)) as? [String: Any])
                reports[json["topic"] as? String ?? "?"] = json
            }
        }
        _ = statuses.stop()
        #expect(reports["T.AAPL"]?["lost"] as? Int == 2 && reports["T.AAPL"]?["after_sequence"] as? Int == 3, "\(reports)")
        #expect(reports["A.SPY"]?["lost"] as? Int == 6 && reports["A.SPY"]?["after_sequence"] as? Int == 0, "\(reports)")
        #expect(reports["T.MSFT"]?["lost"] as? Int == 2 && reports["T.MSFT"]?["next_sequence"] as? Int == 3, "\(reports)")
        let spy = data + "/raw_1s/SPY/SPY_2024_01.csv"
        for _ in 0..<100 where ((try? rows(spy))?.count ?? 0) < 1 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try rows(spy).count == 1, "only the bar after the restart is in the file")
    }

    @Test func aBadTopicIsAClearErrorAtStart() async throws {
        let run = try TickBusProcess(["archive", "X.AAPL"])
        let (status, _, err) = await run.wait()
        #expect(status != 0)
        #expect(err.contains("unknown topic kind"))
    }
}
