import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import History
import Logging
import MassiveREST
import Simulator
import Synchronization
import Testing

struct HistoryFetchTimeout: Error, CustomStringConvertible {
    var description: String { "timed out" }
}

let fetchTestLogger: Logger = {
    var logger = Logger(label: "history-fetch-test")
    logger.logLevel = .critical
    return logger
}()

/// 2025-01-31 23:40:00 UTC through 2025-02-01 00:19:59 UTC: 40 minutes over a month boundary.
let boundaryRange = try! FetchRange(first: 1_738_366_800, last: 1_738_366_800 + 2_400 - 1)

/// Runs `body` with a simulator on an ephemeral port.
func withFetchSimulator<T: Sendable>(
    rate: Double = 100, configure: (inout SimulatorConfiguration) -> Void = { _ in }, timeout: Double = 90,
    _ body: @escaping @Sendable (_ baseURL: String) async throws -> T
) async throws -> T {
    var configuration = SimulatorConfiguration(port: 0, seed: 11, rate: rate)
    // boundaryRange's month boundary (UTC midnight) is in after-hours on the real calendar: with
    // the market clock 9 hours behind, 2025-01-31 23:40Z is Friday 09:40 ET, a regular session.
    configuration.marketTimeOffset = .seconds(-9 * 3_600)
    configure(&configuration)
    let config = configuration
    return try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask {
            try await MassiveSimulator.withRunning(config, logger: fetchTestLogger) { sim in
                try await body(try await sim.restBaseURL())
            }
        }
        group.addTask {
            try await Task.sleep(for: .seconds(timeout))
            throw HistoryFetchTimeout()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// A fresh directory under the system's temporary directory.
func scratchDirectory(_ name: String = #function) -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("tickbus-history-\(name.filter(\.isLetter))-\(UUID().uuidString.prefix(8))").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// REST settings for tests: fast retries.
func restConfiguration(_ base: String, key: String = "k", pageLimit: Int = 50_000) -> MassiveRESTConfiguration {
    MassiveRESTConfiguration(
        apiKey: key, baseURL: base,
        retry: RetryPolicy(maxAttempts: 8, initialDelay: .milliseconds(1), maxDelay: .milliseconds(20)),
        pageLimit: pageLimit, requestTimeout: .seconds(30))
}

/// Collects a fetch's events.
final class EventLog: Sendable {
    private let events = Mutex<[HistoryFetchEvent]>([])
    func add(_ event: HistoryFetchEvent) { events.withLock { $0.append(event) } }
    var messages: [String] {
        events.withLock { $0.compactMap { if case .message(let m) = $0 { m } else { nil } } }
    }
}

/// Fetches `symbols` over `range` into `directory`.
@discardableResult
func fetch(
    _ base: String, into directory: String, symbols: [String] = ["MSFT"], range: FetchRange = boundaryRange,
    kind: HistoryKind = .secondBars, force: Bool = false, key: String = "k", pageLimit: Int = 50_000,
    log: EventLog = EventLog()
) async throws -> HistoryFetchReport {
    let options = try HistoryFetchOptions(
        symbols: symbols, range: range, outputDirectory: directory, kind: kind, force: force)
    let fetcher = try HistoryFetcher(
        options: options, rest: restConfiguration(base, key: key, pageLimit: pageLimit), logger: fetchTestLogger,
        events: log.add)
    return try await fetcher.run()
}

/// Every file under `directory` (hidden ones included), by relative path.
func files(in directory: String) -> [String: Data] {
    var result: [String: Data] = [:]
    guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return result }
    while let path = enumerator.nextObject() as? String {
        var isDirectory: ObjCBool = false
        let full = directory + "/" + path
        if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
            result[path] = FileManager.default.contents(atPath: full)
        }
    }
    return result
}

/// The CSV files under `directory`, by relative path.
func csvFiles(in directory: String) -> [String: String] {
    files(in: directory).filter { $0.key.hasSuffix(".csv") }.mapValues { String(decoding: $0, as: UTF8.self) }
}

/// Renders the CSV of `symbol`'s second bars in `range` from the simulator's JSON, parsed by
/// Foundation, with a formatter of its own: one text per UTC month file.
func expectedCSV(_ base: String, symbol: String, range: FetchRange) async throws -> [String: String] {
    let url = URL(string: "\(base)/v2/aggs/ticker/\(symbol)/range/1/second/\(range.first * 1000)/\(range.last * 1000 + 999)?adjusted=true&sort=asc&limit=50000")!
    var request = URLRequest(url: url)
    request.setValue("Bearer k", forHTTPHeaderField: "Authorization")
    let (data, _) = try await URLSession.shared.data(for: request)
    let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    #expect(json["next_url"] == nil)
    let results = try #require(json["results"] as? [[String: Any]])
    var files: [String: String] = [:]
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyy-MM-dd HH:mm:ss'+00:00'"
    let monthFormatter = DateFormatter()
    monthFormatter.locale = formatter.locale
    monthFormatter.timeZone = formatter.timeZone
    monthFormatter.dateFormat = "yyyy_MM"
    func price(_ any: Any?) -> String { "\((any as! NSNumber).doubleValue)" }
    for r in results {
        let date = Date(timeIntervalSince1970: (r["t"] as! NSNumber).doubleValue / 1000)
        let path = "\(symbol)/\(symbol)_\(monthFormatter.string(from: date)).csv"
        let volume = Int((r["v"] as! NSNumber).doubleValue)
        let line = "\(formatter.string(from: date)),\(price(r["o"])),\(price(r["h"])),\(price(r["l"])),\(price(r["c"])),\(volume)\n"
        files[path, default: "ts_event,open,high,low,close,volume\n"] += line
    }
    return files
}

/// Temporary files (`.NAME.tmp-PID`) under `directory`.
func temporaryFiles(in directory: String) -> [String] {
    files(in: directory).keys.filter { $0.contains(".tmp-") }.sorted()
}

/// Cancels a fetch's task from its event handler.
final class Canceller: Sendable {
    private let task = Mutex<Task<HistoryFetchReport, any Error>?>(nil)
    func set(_ task: Task<HistoryFetchReport, any Error>) { self.task.withLock { $0 = task } }
    func cancel() { task.withLock { $0?.cancel() } }
}
