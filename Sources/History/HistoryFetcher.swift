#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Archive
import Foundation
import Logging
import MassiveREST
import TickBusCore

/// `tickbus history fetch`: bars from Massive's aggregates endpoint into one CSV per symbol per
/// UTC month, `<output>/SYM/SYM_YYYY_MM.csv`, one request chain per month (the client follows
/// `next_url`, retries 429/5xx and paces).
///
/// Each month is written under a temporary name and renamed, then described by a
/// ``MonthRecord`` beside it; a complete month is skipped unless ``HistoryFetchOptions/force``,
/// a partial one continues after what it holds. A run that is cancelled or fails keeps the
/// rows fetched so far (as a partial month).
public struct HistoryFetcher: Sendable {
    public let options: HistoryFetchOptions
    private let client: MassiveRESTClient
    private let events: @Sendable (HistoryFetchEvent) -> Void

    /// How long after a bar Massive may still revise it: months that ended more recently are
    /// not complete yet.
    static let settleSeconds: Int64 = 3_600

    public init(
        options: HistoryFetchOptions, rest: MassiveRESTConfiguration,
        logger: Logger = Logger(label: "tickbus.history"),
        events: @escaping @Sendable (HistoryFetchEvent) -> Void = { _ in }
    ) throws(HistoryFetchError) {
        guard !rest.apiKey.isEmpty else { throw .missingAPIKey }
        do {
            client = try MassiveRESTClient(configuration: rest, logger: logger)
        } catch {
            throw .badOption("\(error)")
        }
        self.options = options
        self.events = events
    }

    /// Fetches every symbol, ``HistoryFetchOptions/concurrency`` at a time. Throws what stops
    /// them all (a refused key, a plan without these bars, an output directory that cannot be
    /// written, cancellation); a symbol that fails otherwise is reported and the others go on.
    public func run() async throws -> HistoryFetchReport {
        try checkOutputDirectory()
        let symbols = options.symbols
        var results: [SymbolProgress?] = Array(repeating: nil, count: symbols.count)
        try await withThrowingTaskGroup(of: (Int, SymbolProgress).self) { group in
            var next = 0
            while next < min(options.concurrency, symbols.count) {
                let i = next
                group.addTask { (i, try await fetch(symbol: symbols[i])) }
                next += 1
            }
            while let (i, progress) = try await group.next() {
                results[i] = progress
                if next < symbols.count {
                    let j = next
                    group.addTask { (j, try await fetch(symbol: symbols[j])) }
                    next += 1
                }
            }
        }
        return HistoryFetchReport(symbols: results.compactMap { $0 })
    }

    /// Creates the output directory and checks a file can be made in it.
    private func checkOutputDirectory() throws(HistoryFetchError) {
        let directory = options.outputDirectory
        do {
            try AtomicFile.makeDirectories(directory)
        } catch {
            throw .unwritable(path: directory, reason: "\(error)")
        }
        let probe = directory + "/.tickbus-write-test-\(getpid())"
        let fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw .unwritable(path: directory, reason: String(cString: strerror(errno))) }
        close(fd)
        unlink(probe)
    }

    private func fetch(symbol: String) async throws -> SymbolProgress {
        let spans = options.range.months
        var progress = SymbolProgress(symbol: symbol, months: spans.count)
        let directory = options.outputDirectory + "/" + symbol
        removeStaleTemporaries(in: directory)
        events(.progress(progress))
        let total = Double(options.range.last - options.range.first + 1)
        var doneSeconds: Int64 = 0
        for span in spans {
            do {
                try await fetchMonth(span, symbol: symbol, directory: directory, progress: &progress) { lastStart in
                    let inMonth = min(max(lastStart - span.first + 1, 0), span.seconds)
                    return Double(doneSeconds + inMonth) / total
                }
            } catch let error as HistoryFetchError {
                throw error
            } catch let error as CancellationError {
                throw error
            } catch {
                progress.failure = "\(error)"
                events(.message("\(symbol): \(error)"))
                break
            }
            doneSeconds += span.seconds
            progress.monthsDone += 1
            progress.fraction = Double(doneSeconds) / total
            events(.progress(progress))
        }
        progress.finished = true
        if progress.rowsInFiles == 0, progress.failure == nil {
            events(.message(noDataMessage(symbol)))
        }
        events(.progress(progress))
        return progress
    }

    private func noDataMessage(_ symbol: String) -> String {
        let from = UTCTime.dateTime(seconds: options.range.first, separator: " ")
        let to = UTCTime.dateTime(seconds: options.range.last, separator: " ")
        return """
            \(symbol): Massive returned no \(options.kind) from \(from) to \(to) UTC. Check:
              - the symbol's spelling: Massive's tickers are case-sensitive (SPY, BRK.A)
              - that the dates include trading days (not only weekends or holidays)
              - that your plan's history reaches back that far
            """
    }

    /// Fetches what `span` still lacks into the month's file.
    private func fetchMonth(
        _ span: MonthSpan, symbol: String, directory: String, progress: inout SymbolProgress,
        fraction: (Int64) -> Double
    ) async throws {
        let name = ArchivePath.monthStem(symbol, span.year, span.month) + ".csv"
        let path = directory + "/" + name
        let recordPath = MonthRecord.path(for: path)
        let interval = Int64(options.kind.barInterval!.seconds)
        let now = WallClock.nanoseconds() / 1_000_000_000
        // Only bars that have ended; coverage only as far as Massive has settled.
        let through = min(span.last, now - interval)
        let settled = min(span.last, now - HistoryFetcher.settleSeconds)

        var plan = MonthPlan(span: span)
        let existing = options.force ? nil : ExistingMonth(csvPath: path)
        if let existing {
            switch plan.resume(existing, span: span, kind: options.kind, adjusted: options.adjusted, interval: interval) {
            case .skip(let rows):
                progress.monthsSkipped += 1
                progress.rowsInFiles += rows
                return
            case .continue(let note):
                if let note { events(.message("\(name): \(note); fetching after the last one")) }
            case .refetch(let why):
                events(.message("\(name): \(why); fetching the month again"))
            }
        }

        var file = try MonthFile(path: path, keeping: plan.keep, lastStart: plan.lastStart)
        let before = file.rows
        var failure: (any Error)?
        if plan.first <= through {
            let query = try HistoryQuery(
                symbol: symbol, market: .stocks, kind: options.kind,
                from: .instant(nanoseconds: plan.first * 1_000_000_000),
                to: .instant(nanoseconds: through * 1_000_000_000 + 999_999_999), adjusted: options.adjusted)
            let window = plan.first...through
            let events = self.events
            do {
                try await client.fetch(query, events: { event in
                    switch event {
                    case .request:
                        progress.requests += 1
                        events(.progress(progress))
                    case .retry:
                        progress.retries += 1
                        events(.message("\(symbol): \(event)"))
                    case .paced:
                        events(.message("\(symbol): \(event)"))
                    case .page:
                        break
                    }
                }) { records in
                    let added = try file.append(records, within: window)
                    progress.rowsWritten += added
                    if let last = file.lastStart { progress.fraction = fraction(last) }
                    events(.progress(progress))
                }
            } catch let error as MassiveRESTError {
                switch error {
                case .missingAPIKey: throw HistoryFetchError.missingAPIKey
                case .unauthorized(let message): throw HistoryFetchError.unauthorized(message: message)
                case .notEntitled(_, let message):
                    throw HistoryFetchError.notEntitled(kind: options.kind, symbol: symbol, message: message)
                default: failure = error
                }
            } catch {
                failure = error
            }
        }

        // Covered: the window when it was fetched to its end (as far as Massive has settled),
        // else up to the last row.
        let fetchedTo = failure == nil ? min(settled, through) : file.lastStart ?? plan.first - 1
        let coveredTo = min(span.last, max(plan.first - 1, fetchedTo))
        let rows = file.rows
        let bytes = file.bytes
        let added = rows - before
        // A new file replaces the old one only if it has rows or the fetch succeeded.
        let replace = !plan.keep && (added > 0 || (failure == nil && FileManager.default.fileExists(atPath: path)))
        if replace || (plan.keep && added > 0) {
            try file.commit()
        }
        if replace || plan.keep {
            let record = MonthRecord(
                timespan: options.kind.rawValue, adjusted: options.adjusted, first: plan.coveredFrom, last: coveredTo,
                complete: plan.coveredFrom <= span.monthFirst && coveredTo == span.monthLast, rows: rows, bytes: bytes)
            try record.write(recordPath)
            progress.rowsInFiles += rows
        }
        if let failure { throw failure }
    }

    /// Removes temporary files (`.NAME.tmp-PID`) that a process no longer running left behind.
    private func removeStaleTemporaries(in directory: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(".") {
            guard let marker = name.range(of: ".tmp-", options: .backwards),
                  let pid = Int32(name[marker.upperBound...]), pid != getpid(),
                  kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            unlink(directory + "/" + name)
        }
    }
}
