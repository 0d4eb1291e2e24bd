import Bus
import Foundation
import Testing
import TickBusCore
import ZeroMQ

/// Runs the real `tickbus` executable against a publisher in this process.
@Suite(.serialized)
struct TapProcessTests {
    @Test func helpListsCommands() async throws {
        let run = try TickBusProcess(["--help"])
        let (status, out, _) = await run.wait()
        #expect(status == 0)
        #expect(out.contains("tap"))
        #expect(out.contains("bench"))
    }

    @Test func badTopicIsAClearError() async throws {
        let run = try TickBusProcess(["tap", "X.AAPL"])
        let (status, _, err) = await run.wait()
        #expect(status != 0)
        #expect(err.contains("unknown topic kind"))
    }

    @Test func jsonLinesForExactTopic() async throws {
        let context = try ZMQContext()
        let publisher = try Publisher(context: context, configuration: .init(name: "test", endpoints: ["tcp://127.0.0.1:*"]))
        let tap = try TickBusProcess(["tap", "--json", "--count", "3", "--endpoint", publisher.endpoints[0], "T.AAPL", "B15s."])
        #expect(try publisher.waitForSubscriber(matching: "T.AAPL", timeout: .seconds(10)))
        #expect(try publisher.waitForSubscriber(matching: "B15s.AAPL", timeout: .seconds(10)))
        let t0: Int64 = 1_704_187_800_000_000_000
        try publisher.publish(.trade(Trade(
            header: RecordHeader(market: .stocks, tsEvent: t0, tsRecv: t0 + 5, symbol: "AAPL"),
            price: try Price(parsing: "475.4"), size: 100, exchange: 4, tape: 3,
            conditions: try Conditions([12, 37]), tradeID: "12345")))
        try publisher.publish(.trade(Trade(
            header: RecordHeader(market: .stocks, tsEvent: t0, tsRecv: t0, symbol: "AAPLW"),
            price: Price(units: 1), size: 1)))
        try publisher.publish(.trade(Trade(
            header: RecordHeader(market: .stocks, tsEvent: t0 + 1, tsRecv: t0 + 1, symbol: "AAPL"),
            price: try Price(parsing: "0.0001"), size: 0.5)))
        try publisher.publish(.bar(Bar(
            header: RecordHeader(market: .stocks, flags: [.local, .revision], tsEvent: t0, tsRecv: t0, symbol: "AAPL"),
            open: Price(units: 1), high: Price(units: 2), low: Price(units: 1), close: Price(units: 2),
            volume: 10, tradeCount: 3, interval: try #require(BarInterval(label: "15s")))))
        let (status, out, err) = await tap.wait()
        #expect(status == 0, "stderr: \(err)")
        let lines = out.split(separator: "\n").map(String.init)
        try #require(lines.count == 3, "stdout: \(out) stderr: \(err)")
        let objects = try lines.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(objects[0]["topic"] as? String == "T.AAPL")
        #expect(objects[0]["sequence"] as? Int == 1)
        #expect(objects[0]["epoch"] as? Int == Int(publisher.epoch))
        #expect(objects[0]["price"] as? Double == 475.4)
        #expect(objects[0]["conditions"] as? [Int] == [12, 37])
        #expect(objects[0]["trade_id"] as? String == "12345")
        #expect(objects[0]["ts_recv"] as? Int == Int(t0 + 5))
        #expect(objects[0]["time"] as? String == "2024-01-02T09:30:00Z")
        #expect(objects[1]["symbol"] as? String == "AAPL")
        #expect(objects[1]["sequence"] as? Int == 2)
        #expect(lines[1].contains("\"price\":0.0001"))
        #expect(objects[2]["topic"] as? String == "B15s.AAPL")
        #expect(objects[2]["flags"] as? [String] == ["revision", "local"])
        #expect(err.contains("3 records"))
    }

    @Test func textReportsGapsAndStopsOnSigint() async throws {
        let context = try ZMQContext()
        let socket = try Socket(context, .xpub)
        try socket.bind("tcp://127.0.0.1:*")
        let tap = try TickBusProcess(["tap", "--endpoint", try socket.lastEndpoint, "Q."])
        socket.setReceiveTimeoutIgnoringErrors(10_000)
        // The tap subscribes to Q. and, for heartbeats, H., in either order.
        let subscriptions = [try socket.receiveBytes(), try socket.receiveBytes()]
        #expect(Set(subscriptions) == [Array("\u{1}Q.".utf8), Array("\u{1}H.".utf8)])
        let quote = Quote(
            header: RecordHeader(market: .stocks, tsEvent: 0, tsRecv: 0, symbol: "MSFT"),
            bidPrice: try Price(parsing: "114.125"), askPrice: try Price(parsing: "114.128"), bidSize: 100, askSize: 160)
        var buffer = [UInt8](repeating: 0, count: BusMessage.maxSize)
        for sequence: UInt64 in [1, 2, 6] {
            let n = buffer.withUnsafeMutableBytes { BusMessage.encode(.quote(quote), into: $0, stamp: (7, sequence)) }
            try socket.send(Array(buffer[..<n]))
        }
        try await tap.waitForOutput(containing: "#6", timeout: 10)
        tap.interrupt()
        let (status, out, err) = await tap.wait()
        #expect(status == 0)
        #expect(out.contains("1970-01-01T00:00:00Z Q.MSFT #1 bid 114.125 x100 ask 114.128 x160"))
        #expect(out.contains("!! gap on Q.MSFT: expected #3, received #6, 3 lost"))
        #expect(err.contains("3 records, 1 gaps (3 lost)"))
    }

    @Test func sinceStartReplaysTheJournalThenGoesLiveWithNothingTwice() async throws {
        let context = try ZMQContext()
        let publisher = try PublisherService(context: context, configuration: .init(
            name: "ingest", endpoints: ["tcp://127.0.0.1:*"],
            journal: .init(directory: NSTemporaryDirectory() + "tickbus-tap-since-\(UUID().uuidString)"),
            replayEndpoints: ["tcp://127.0.0.1:*"]))
        defer { publisher.stop() }
        func trade(_ i: Int) -> Record {
            .trade(Trade(header: RecordHeader(market: .stocks, tsEvent: Int64(i), tsRecv: Int64(i), symbol: "AAPL"), price: Price(units: 1), size: 1))
        }
        for i in 0..<1000 { publisher.submit(trade(i)) }
        let tap = try TickBusProcess([
            "tap", "--json", "--count", "1500", "--bus", publisher.endpoints[0], "--replay", try #require(publisher.replay?.endpoints.first),
            "--since", "start", "T.AAPL"])
        let deadline = Date().addingTimeInterval(30)
        while !publisher.subscriptions.contains(Array("T.AAPL ".utf8)) && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        for i in 1000..<1500 { publisher.submit(trade(i)) }
        let (status, out, err) = await tap.wait()
        #expect(status == 0, "stderr: \(err)")
        let sequences = try out.split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])["sequence"] as? Int
        }
        #expect(sequences == Array(1...1500).map { Optional($0) })
        #expect(err.contains("0 gaps") && err.contains("recovered from journals"), "\(err)")
    }
}

extension Socket {
    func setReceiveTimeoutIgnoringErrors(_ milliseconds: Int32) {
        try? setReceiveTimeout(milliseconds: milliseconds)
    }
}

/// The built `tickbus` executable run as a child process, its output collected as it comes.
final class TickBusProcess: @unchecked Sendable {
    private let process = Process()
    private let output = Pipe()
    private let errors = Pipe()
    private let lock = NSLock()
    private var collected = Data()
    private var collectedErrors = Data()
    /// Left by each pipe's reader thread at the pipe's end.
    private let drained = DispatchGroup()

    /// Starts `tickbus arguments…`; `environment` entries are added to this process's.
    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var binary = directory.appendingPathComponent("tickbus")
        if !FileManager.default.fileExists(atPath: binary.path) {
            binary = directory.deletingLastPathComponent().appendingPathComponent("tickbus")
        }
        process.executableURL = binary
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        collect(output, into: \.collected)
        collect(errors, into: \.collectedErrors)
    }

    /// Reads `pipe` to its end on a thread of its own. Not a `readabilityHandler`: its dispatch
    /// source, torn down while the pipe closes, once crashed the test process in libdispatch.
    private func collect(_ pipe: Pipe, into buffer: ReferenceWritableKeyPath<TickBusProcess, Data> & Sendable) {
        let handle = pipe.fileHandleForReading
        drained.enter()
        Thread { [self] in
            defer { drained.leave() }
            while case let data = handle.availableData, !data.isEmpty {
                lock.withLock { self[keyPath: buffer].append(data) }
            }
        }.start()
    }

    var stdout: String { lock.withLock { String(decoding: collected, as: UTF8.self) } }

    /// Standard error so far.
    var stderr: String { lock.withLock { String(decoding: collectedErrors, as: UTF8.self) } }

    func waitForOutput(containing text: String, timeout: TimeInterval) async throws {
        try await waitUntil(timeout: timeout, "\(text) on stdout") { stdout, _ in stdout.contains(text) }
    }

    /// Waits until `condition(stdout, stderr)` holds; throws when the process exits or time runs out first.
    func waitUntil(timeout: TimeInterval, _ what: String, _ condition: (String, String) -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition(stdout, stderr) {
            guard Date() < deadline, process.isRunning else {
                throw TapTestError.noOutput(what, stdout + stderr)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func interrupt() { process.interrupt() }

    /// SIGTERM, as systemd stops a unit.
    func terminate() { process.terminate() }

    var pid: Int32 { process.processIdentifier }

    /// SIGKILL: no chance to clean up.
    func killHard() { kill(process.processIdentifier, SIGKILL) }

    /// Waits for exit (killing the process after 20 s) and returns status, stdout and stderr,
    /// without holding a thread of the test runner's pool meanwhile.
    func wait() async -> (Int32, String, String) {
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return finish()
    }

    /// Like ``wait()``, blocking: for `defer` blocks, after ``interrupt()``.
    @discardableResult
    func finish() -> (Int32, String, String) {
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        drained.wait()
        return (process.terminationStatus, stdout, stderr)
    }
}

enum TapTestError: Error {
    case noOutput(String, String)
}
