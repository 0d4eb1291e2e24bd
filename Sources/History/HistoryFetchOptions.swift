import Archive
import Foundation
import MassiveREST
import TickBusCore

/// What `tickbus history fetch` fetches, and where it writes it.
public struct HistoryFetchOptions: Sendable {
    /// Stock tickers as Massive spells them (`SPY`, `BRK.A`), checked by ``symbols(_:)``.
    public var symbols: [String]
    public var range: FetchRange
    /// The directory holding `SYM/SYM_YYYY_MM.csv` (the old pipeline's `data/raw_1s`).
    public var outputDirectory: String
    /// `secondBars`, `minuteBars` or `dayBars`.
    public var kind: HistoryKind
    public var adjusted: Bool
    /// Fetch complete months again.
    public var force: Bool
    /// Symbols fetched at once.
    public var concurrency: Int

    public init(
        symbols: [String], range: FetchRange, outputDirectory: String, kind: HistoryKind = .secondBars,
        adjusted: Bool = true, force: Bool = false, concurrency: Int = 2
    ) throws(HistoryFetchError) {
        guard !symbols.isEmpty else { throw .noSymbols }
        guard kind.barInterval != nil else { throw .badOption("--timespan must be second, minute or day") }
        guard concurrency >= 1 else { throw .badOption("--concurrency must be at least 1") }
        guard !outputDirectory.isEmpty else { throw .unwritable(path: "\"\"", reason: "no directory given") }
        self.symbols = symbols
        self.range = range
        self.outputDirectory = outputDirectory
        self.kind = kind
        self.adjusted = adjusted
        self.force = force
        self.concurrency = concurrency
    }

    /// Symbols from `--symbol` values (each may be a comma-separated list), in order, without
    /// repeats; each must be a stock ticker that can also name a directory.
    public static func symbols(_ lists: [String]) throws(HistoryFetchError) -> [String] {
        var symbols: [String] = []
        for list in lists {
            for part in list.split(separator: ",") {
                let symbol = part.trimmingCharacters(in: .whitespaces)
                guard !symbol.isEmpty else { continue }
                do {
                    _ = try ArchivePath.validate(symbol: symbol)
                    _ = try HistoryQuery.restTicker(symbol: symbol, market: .stocks)
                    _ = try Symbol(symbol)
                } catch let error as ArchivePathError {
                    throw .badSymbol(symbol, reason: "\(error)")
                } catch HistoryQueryError.badSymbol(_, let reason) {
                    throw .badSymbol(symbol, reason: reason)
                } catch {
                    throw .badSymbol(symbol, reason: "\(error)")
                }
                if !symbols.contains(symbol) { symbols.append(symbol) }
            }
        }
        guard !symbols.isEmpty else { throw .noSymbols }
        return symbols
    }
}
