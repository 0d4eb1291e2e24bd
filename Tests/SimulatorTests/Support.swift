import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import NIOCore
import Synchronization
import Testing
import WSClient

@testable import Simulator

struct TimeoutError: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out: \(what)" }
}

/// The server closed the connection before what a test waited for arrived.
struct ClosedError: Error, CustomStringConvertible {
    let what: String
    var description: String { "connection closed while waiting for: \(what)" }
}

/// Run `body` with a deadline; the body is cancelled when it runs out.
/// Every wait below is a guard against hangs, not a timing check: stretched so a loaded CI
/// machine (2 cores shared by every suite running in parallel) does not fail them.
let timeoutScale = 8.0

func withTimeout<T: Sendable>(
    _ seconds: Double, _ what: String = "test", _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds * timeoutScale))
            throw TimeoutError(what: what)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// A configuration for tests: ephemeral port, quiet, fast ticks. Streams start `av` from the
/// estimate (`dayTotalsLimit` 0), not by generating the day so far: in a debug build that is
/// seconds of CPU per busy symbol, which slows every suite running alongside; the tests of
/// `av` set a limit.
func testConfiguration(rate: Double = 500, seed: UInt64 = 7) -> SimulatorConfiguration {
    var c = SimulatorConfiguration(port: 0, seed: seed, rate: rate)
    c.tickInterval = .milliseconds(5)
    c.maxFrameBytes = 16_384
    c.dayTotalsLimit = 0
    return c
}

/// A configuration for tests of the live stream: the market's clock reads 2025-03-04 09:30 ET
/// (a Tuesday's regular open, to the minute) when it is made, so every market trades whatever
/// the hour the tests run at.
func liveTestConfiguration(rate: Double = 500, seed: UInt64 = 7) -> SimulatorConfiguration {
    var c = testConfiguration(rate: rate, seed: seed)
    c.marketTimeOffset = SimulatorConfiguration.marketTimeOffset("2025-03-04T14:30:00Z", nowNs: WallClock.nowNanos())!
    return c
}

let testLogger: Logger = {
    var l = Logger(label: "sim-test")
    l.logLevel = .warning
    return l
}()

/// Start a simulator on an ephemeral port for the duration of `body`.
func withSimulator<T: Sendable>(
    _ configuration: SimulatorConfiguration, timeout: Double = 20,
    _ body: @escaping @Sendable (MassiveSimulator) async throws -> T
) async throws -> T {
    try await withTimeout(timeout, "simulator test") {
        try await MassiveSimulator.withRunning(configuration, logger: testLogger, body)
    }
}

/// Messages received on a client connection, appended by a reader task.
final class Inbox: Sendable {
    enum Item: Sendable {
        case text(String)
        case binary(Int)
    }
    private let state = Mutex<(items: [Item], closed: Bool)>(([], false))

    func append(_ item: Item) { state.withLock { $0.items.append(item) } }
    func close() { state.withLock { $0.closed = true } }
    var items: [Item] { state.withLock { $0.items } }
    var isClosed: Bool { state.withLock { $0.closed } }
}

/// A JSON object of an event or status.
typealias Event = [String: Any]

/// A scripted client connection (used inside `withWebSocket`).
final class TestConnection: @unchecked Sendable {
    let outbound: WebSocketOutboundWriter
    let inbox: Inbox
    /// Frames parsed so far, in order, with their events; unparseable frames are kept as nil.
    private(set) var frames: [[Event]?] = []
    private var flat: [Event] = []
    private var malformed = 0
    private var seen = 0

    init(outbound: WebSocketOutboundWriter, inbox: Inbox) {
        self.outbound = outbound
        self.inbox = inbox
    }

    func send(_ text: String) async throws { try await outbound.write(.text(text)) }

    func auth(_ key: String = "test-key") async throws { try await send(#"{"action":"auth","params":"\#(key)"}"#) }

    func subscribe(_ params: String) async throws { try await send(#"{"action":"subscribe","params":"\#(params)"}"#) }

    func unsubscribe(_ params: String) async throws { try await send(#"{"action":"unsubscribe","params":"\#(params)"}"#) }

    private func parseNew() {
        let items = inbox.items
        while seen < items.count {
            switch items[seen] {
            case .text(let s):
                if let data = s.data(using: .utf8), let array = try? JSONSerialization.jsonObject(with: data) as? [Any],
                    array.allSatisfy({ $0 is [String: Any] })
                {
                    let events = array.map { $0 as! Event }
                    frames.append(events)
                    flat += events
                } else {
                    frames.append(nil)
                    malformed += 1
                }
            case .binary:
                frames.append(nil)
                malformed += 1
            }
            seen += 1
        }
    }

    /// All events received so far (statuses included), in order.
    var events: [Event] {
        parseNew()
        return flat
    }

    /// Number of `ev` events after the first status with this message.
    func countAfter(message: String, ev: String) -> Int {
        let all = events
        guard let i = all.firstIndex(where: { $0["message"] as? String == message }) else { return -1 }
        return all[(i + 1)...].filter { $0["ev"] as? String == ev }.count
    }

    var frameCount: Int {
        parseNew()
        return frames.count
    }

    var malformedFrames: Int {
        parseNew()
        return malformed
    }

    /// Wait until `condition` holds on the events so far.
    func waitUntil(_ what: String, timeout: Double = 5, _ condition: ([Event]) -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(timeout * timeoutScale)
        while true {
            let closed = inbox.isClosed
            if condition(events) { return }
            if closed { throw ClosedError(what: what) }
            if ContinuousClock.now > deadline { throw TimeoutError(what: what) }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Wait for the server to close the connection.
    func waitClosed(timeout: Double = 5) async throws {
        let deadline = ContinuousClock.now + .seconds(timeout * timeoutScale)
        while !inbox.isClosed {
            if ContinuousClock.now > deadline { throw TimeoutError(what: "connection close") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Status events so far.
    var statuses: [(status: String, message: String)] {
        events.filter { $0["ev"] as? String == "status" }.map { ($0["status"] as! String, $0["message"] as! String) }
    }
}

/// Connect, run the script, disconnect.
func withWebSocket(
    _ url: String, _ script: @escaping @Sendable (TestConnection) async throws -> Void
) async throws {
    let failure = Mutex<(any Error)?>(nil)
    do {
        try await WebSocketClient.connect(
            url: url, configuration: .init(maxFrameSize: 1 << 22), logger: testLogger
        ) { inbound, outbound, _ in
            let inbox = Inbox()
            let connection = TestConnection(outbound: outbound, inbox: inbox)
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        for try await message in inbound.messages(maxSize: 1 << 24) {
                            switch message {
                            case .text(let s): inbox.append(.text(s))
                            case .binary(let b): inbox.append(.binary(b.readableBytes))
                            }
                        }
                    } catch {}
                    inbox.close()
                }
                do {
                    try await script(connection)
                } catch {
                    failure.withLock { $0 = error }
                }
                group.cancelAll()
            }
        }
    } catch {
        // The server may end the connection (faults); the script decides what that means.
        if failure.withLock({ $0 }) == nil, !(error is CancellationError) {
            testLogger.debug("client ended: \(error)")
        }
    }
    if let error = failure.withLock({ $0 }) { throw error }
}

/// GET over HTTP; returns status and parsed JSON body.
func httpGet(_ url: String, headers: [String: String] = [:]) async throws -> (status: Int, json: [String: Any]) {
    var request = URLRequest(url: URL(string: url)!)
    for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
    request.timeoutInterval = 60
    let (data, response) = try await URLSession.shared.data(for: request)
    let status = (response as? HTTPURLResponse)?.statusCode ?? 0
    let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    return (status, json)
}

func number(_ any: Any?) -> Double? {
    if let n = any as? NSNumber { return n.doubleValue }
    if let d = any as? Double { return d }
    if let i = any as? Int { return Double(i) }
    return nil
}

func int64(_ any: Any?) -> Int64? {
    if let n = any as? NSNumber { return n.int64Value }
    if let i = any as? Int { return Int64(i) }
    return nil
}

extension Array where Element == Event {
    func with(ev: String) -> [Event] { filter { $0["ev"] as? String == ev } }
}

/// Carries non-Sendable test data (JSON objects) out of @Sendable closures; tests use it from
/// one task at a time.
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
