import MassiveREST

/// Why `tickbus history fetch` cannot start, or stopped.
public enum HistoryFetchError: Error, Equatable, Sendable, CustomStringConvertible {
    case badDate(option: String, text: String)
    case endBeforeStart(start: String, end: String)
    case noSymbols
    case badSymbol(String, reason: String)
    /// An option out of its range (`--concurrency 0`, `--timespan trades`).
    case badOption(String)
    case unwritable(path: String, reason: String)
    /// No key in the environment or the `.env` file.
    case missingAPIKey
    /// 401: Massive refused the key.
    case unauthorized(message: String)
    /// 403: the plan does not include these bars.
    case notEntitled(kind: HistoryKind, symbol: String, message: String)
    /// Some symbols failed for other reasons (each was reported as it failed).
    case symbolsFailed([String])
    /// Not one bar for any symbol in the range.
    case noData

    public var description: String {
        switch self {
        case .badDate(let option, let text):
            "\(option) \(text.debugDescription) is not a date: use YYYY-MM-DD (2024-01-31)"
        case .endBeforeStart(let start, let end):
            "the end \(end) is before the start \(start)"
        case .noSymbols:
            "no symbol given: --symbol SPY or --symbol SPY,QQQ"
        case .badSymbol(let symbol, let reason):
            "bad symbol \(String(symbol.prefix(40)).debugDescription): \(reason)"
        case .badOption(let what):
            what
        case .unwritable(let path, let reason):
            "cannot write to the output directory \(path): \(reason)"
        case .missingAPIKey:
            "MASSIVE_API_KEY not found: export MASSIVE_API_KEY=... or put the line MASSIVE_API_KEY=... in .env "
                + "(or in the file given with --env-file)"
        case .unauthorized(let message):
            "Massive refused the API key (\(message)): check MASSIVE_API_KEY in the environment or .env"
        case .notEntitled(let kind, let symbol, let message):
            "your plan does not include \(HistoryFetchError.aggregates(kind)) (\(symbol)): \(message)"
                + (kind == .secondBars ? " Minute bars (--timespan minute) may be in your plan." : "")
        case .symbolsFailed(let symbols):
            "fetching failed for \(symbols.joined(separator: ", ")) (reasons above); run again to resume"
        case .noData:
            "no bars at all for the symbols and dates asked (see above)"
        }
    }

    /// How Massive's plans name the bars: `1-second aggregates`.
    static func aggregates(_ kind: HistoryKind) -> String {
        switch kind {
        case .secondBars: "1-second aggregates"
        case .minuteBars: "1-minute aggregates"
        case .dayBars: "daily aggregates"
        case .trades, .quotes: "\(kind)"
        }
    }
}
