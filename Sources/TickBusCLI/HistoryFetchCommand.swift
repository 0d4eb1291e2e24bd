import ArgumentParser
import Foundation
import History
import Ingest
import Logging
import MassiveREST

struct HistoryFetchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Fetch bars from Massive into one CSV per symbol per month.",
        discussion: """
            Writes <output-dir>/SYM/SYM_YYYY_MM.csv (UTC months, rows `ts_event,open,high,low,close,volume`). \
            Dates are UTC days, both included. Months already complete are skipped (--force fetches them \
            again); a partial month continues after its last row. Ctrl-C keeps what was fetched. The API \
            key comes from MASSIVE_API_KEY or the .env file (docs/history.md).
            """)

    @Option(help: "Tickers, comma-separated (SPY,QQQ); repeatable.") var symbol: [String] = []
    @Option(help: "First day, YYYY-MM-DD (UTC).") var start: String
    @Option(help: "Last day, YYYY-MM-DD (UTC), included.") var end: String
    @Option(help: "Directory of the SYM/SYM_YYYY_MM.csv files.") var outputDir = "data/raw_1s"
    @Flag(help: "Fetch complete months again.") var force = false
    @Option(help: "Bar length: second, minute or day.") var timespan = "second"
    @Flag(inversion: .prefixedNo, help: "Split-adjusted prices.") var adjusted = true
    @Option(help: "Pace requests (retries included), e.g. 5 for Massive's free plan.") var maxRequestsPerMinute: Int?
    @Option(help: "Massive REST base URL (tickbus sim: http://127.0.0.1:7790).") var baseURL = "https://api.massive.com"
    @Option(help: "Symbols fetched at once.") var concurrency = 2
    @Option(help: "The .env file to read MASSIVE_API_KEY from.") var envFile = ".env"

    func run() async throws {
        let fetcher: HistoryFetcher
        let display = FetchProgressDisplay()
        do {
            guard let kind = HistoryKind(rawValue: timespan), kind.barInterval != nil else {
                throw HistoryFetchError.badOption("--timespan must be second, minute or day, not \(timespan.debugDescription)")
            }
            if let n = maxRequestsPerMinute, n < 1 { throw HistoryFetchError.badOption("--max-requests-per-minute must be at least 1") }
            let options = try HistoryFetchOptions(
                symbols: try HistoryFetchOptions.symbols(symbol), range: try FetchRange(start: start, end: end),
                outputDirectory: outputDir, kind: kind, adjusted: adjusted, force: force, concurrency: concurrency)
            let key = SettingsFile.apiKey(environment: ProcessInfo.processInfo.environment, envFile: envFile) ?? ""
            var logger = Logger(label: "tickbus.history")
            logger.logLevel = .warning
            fetcher = try HistoryFetcher(
                options: options,
                rest: MassiveRESTConfiguration(apiKey: key, baseURL: baseURL, requestsPerMinute: maxRequestsPerMinute),
                logger: logger, events: display.handle)
        } catch {
            throw failure("\(error)")
        }

        let task = Task { try await fetcher.run() }
        let signals = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { task.cancel() }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }
        switch await task.result {
        case .success(let report):
            if let error = report.failure { throw failure("\(error)") }
        case .failure(is CancellationError):
            throw failure("interrupted; the rows fetched so far are kept, run again to resume", code: 130)
        case .failure(let error):
            throw failure("\(error)")
        }
    }

    /// Prints `message` and returns the exit code to throw.
    private func failure(_ message: String, code: Int32 = 1) -> ExitCode {
        FileHandle.standardError.write(Data("tickbus history fetch: \(message)\n".utf8))
        return ExitCode(code)
    }
}
