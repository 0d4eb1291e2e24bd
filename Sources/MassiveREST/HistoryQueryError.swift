/// Why a history query cannot be made.
public enum HistoryQueryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Text that is neither `YYYY-MM-DD`, RFC 3339 nor Unix time, or a time 64-bit ns since
    /// the epoch cannot hold.
    case badTime(String)
    /// The range ends before it starts.
    case fromAfterTo(from: HistoryBound, to: HistoryBound)
    /// A symbol that is not in the form the bus carries for its market.
    case badSymbol(String, reason: String)
    /// Massive's REST API has no such data (futures, index quotes, forex trades).
    case unsupported(String)

    public var description: String {
        switch self {
        case .badTime(let text):
            "\(text.debugDescription) is not a date (YYYY-MM-DD), an RFC 3339 time (2025-03-04T14:30:00Z) or Unix time between 1677-09-22 and 2262-04-11"
        case .fromAfterTo(let from, let to): "the range starts after it ends: from \(from) is after to \(to)"
        case .badSymbol(let symbol, let reason): "bad symbol \(symbol.debugDescription): \(reason)"
        case .unsupported(let what): what
        }
    }
}
