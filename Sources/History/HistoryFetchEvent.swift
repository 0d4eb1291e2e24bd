import MassiveREST

/// What a running fetch reports, for a display.
public enum HistoryFetchEvent: Sendable {
    /// Where one symbol stands.
    case progress(SymbolProgress)
    /// A line for the user: waits and retries, months fetched again, symbols without data.
    case message(String)
}

/// One symbol's progress.
public struct SymbolProgress: Sendable, Equatable {
    public var symbol: String
    public var months: Int
    public var monthsDone = 0
    /// Months found complete and left as they were.
    public var monthsSkipped = 0
    /// Rows written by this run.
    public var rowsWritten = 0
    /// Rows in the symbol's files of the range after this run (kept ones included).
    public var rowsInFiles = 0
    /// Requests sent, retries included.
    public var requests = 0
    public var retries = 0
    /// Share of the range's seconds done, 0…1.
    public var fraction = 0.0
    public var finished = false
    /// Why the symbol stopped early, if it did.
    public var failure: String?

    public init(symbol: String, months: Int) {
        self.symbol = symbol
        self.months = months
    }
}

/// What a fetch did, per symbol in the order asked.
public struct HistoryFetchReport: Sendable, Equatable {
    public var symbols: [SymbolProgress]

    /// The error to exit with: a symbol failed, or no symbol has any bar in the range.
    public var failure: HistoryFetchError? {
        let failed = symbols.filter { $0.failure != nil }.map(\.symbol)
        if !failed.isEmpty { return .symbolsFailed(failed) }
        if symbols.allSatisfy({ $0.rowsInFiles == 0 }) { return .noData }
        return nil
    }
}
