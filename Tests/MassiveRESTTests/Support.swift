import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Massive
import MassiveREST
import Simulator
import Synchronization
import Testing
import TickBusCore

struct TimeoutError: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out: \(what)" }
}

/// 2025-03-04 15:00:00 UTC (10:00 Eastern), in Unix ms.
let fixedStart: Int64 = 1_741_100_400_000

let quietLogger: Logger = {
    var logger = Logger(label: "rest-test")
    logger.logLevel = .warning
    return logger
}()

/// A simulator configuration for tests: ephemeral port; streams start `av` from the estimate
/// (these tests do not check it, and generating the day so far is slow in a debug build).
func simulatorConfiguration(rate: Double = 200, seed: UInt64 = 7) -> SimulatorConfiguration {
    var configuration = SimulatorConfiguration(port: 0, seed: seed, rate: rate)
    configuration.dayTotalsLimit = 0
    return configuration
}

/// Runs `body` with a simulator listening on an ephemeral port, within `timeout` seconds (a hang
/// guard: generous, since the test runner shares two cores with other suites).
func withSimulator<T: Sendable>(
    _ configuration: SimulatorConfiguration, timeout: Double = 120,
    _ body: @escaping @Sendable (MassiveSimulator) async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await MassiveSimulator.withRunning(configuration, logger: quietLogger, body) }
        group.addTask {
            try await Task.sleep(for: .seconds(timeout))
            throw TimeoutError(what: "simulator test")
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// A client of `base` with fast retries (tests should not wait for backoff).
func client(
    _ base: String, key: String = "k", pageLimit: Int = 50_000, maxAttempts: Int = 8,
    requestTimeout: Duration = .seconds(20)
) throws -> MassiveRESTClient {
    try MassiveRESTClient(
        configuration: MassiveRESTConfiguration(
            apiKey: key, baseURL: base,
            retry: RetryPolicy(maxAttempts: maxAttempts, initialDelay: .milliseconds(1), maxDelay: .milliseconds(20)),
            pageLimit: pageLimit, requestTimeout: requestTimeout),
        logger: quietLogger)
}

/// Everything a fetch produced.
struct Fetched: Sendable {
    var records: [Record] = []
    var pages: [[Record]] = []
    var events: [RESTEvent] = []
    var summary = FetchSummary()

    /// The URL of the first request.
    var firstURL: String? {
        for case .request(let url, _, _) in events { return url }
        return nil
    }
}

extension MassiveRESTClient {
    /// Fetches `query`, keeping every page and event.
    func collect(_ query: HistoryQuery) async throws -> Fetched {
        var fetched = Fetched()
        let summary = try await fetch(query, events: { fetched.events.append($0) }) { page in
            fetched.pages.append(page)
            fetched.records += page
        }
        fetched.summary = summary
        return fetched
    }
}

/// The records without their receive time, for comparing fetches.
func withoutReceiveTime(_ records: [Record]) -> [Record] {
    records.map { record in
        var r = record
        r.header.tsRecv = 0
        return r
    }
}

/// GET with the key in the header; status and the JSON body, parsed by Foundation.
func foundationGet(_ url: String, key: String = "k") async throws -> (status: Int, json: [String: Any]) {
    var request = URLRequest(url: URL(string: url)!)
    request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
    request.timeoutInterval = 30
    let (data, response) = try await URLSession.shared.data(for: request)
    let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, json)
}

func number(_ any: Any?) -> Double? { (any as? NSNumber)?.doubleValue }

func int64(_ any: Any?) -> Int64? { (any as? NSNumber)?.int64Value }

/// Carries values out of `@Sendable` closures in tests (used from one task at a time).
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
