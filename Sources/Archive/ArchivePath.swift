import TickBusCore

/// Where files go under a data directory (DESIGN §5), with symbols checked before they become
/// path components.
public enum ArchivePath {
    /// Refuses anything but `A-Z a-z 0-9 . - _ :` starting with a letter or digit (so `..`,
    /// `a/b`, `` and hidden names never reach the file system), at most 24 bytes.
    public static func validate(symbol: String) throws(ArchivePathError) -> String {
        let bytes = Array(symbol.utf8)
        guard let first = bytes.first, bytes.count <= 24, isAlphanumeric(first),
              bytes.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
                  || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":") })
        else { throw .badSymbol(symbol) }
        return symbol
    }

    /// The symbol as a file name: forex pairs' slash becomes a dash (`EUR/USD` → `EUR-USD`).
    public static func fileName(forSymbol symbol: String) -> String {
        String(symbol.map { $0 == "/" ? "-" : $0 })
    }

    private static func isAlphanumeric(_ b: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
    }

    /// The label of a resampled bar length as the old scripts name it: `15s`, `1min`, `1h`, `1d`.
    public static func label(_ interval: BarInterval) -> String {
        let s = interval.seconds
        if s % 86_400 == 0 { return "\(s / 86_400)d" }
        if s % 3600 == 0 { return "\(s / 3600)h" }
        if s % 60 == 0 { return "\(s / 60)min" }
        return "\(s)s"
    }

    /// `(year, month)` of an instant (ns since the epoch, UTC).
    public static func month(of nanoseconds: Int64) -> (year: Int, month: Int) {
        let days = nanoseconds.floorDivided(by: 86_400_000_000_000).0
        let (y, m, _) = UTCTime.civilDate(daysSinceEpoch: days)
        return (Int(y), Int(m))
    }

    /// `SYM_YYYY_MM`.
    public static func monthStem(_ symbol: String, _ year: Int, _ month: Int) -> String {
        "\(symbol)_\(year)_\(month < 10 ? "0" : "")\(month)"
    }

    /// `raw_1s/SYM/SYM_YYYY_MM.csv`, relative to the data directory.
    public static func rawSecondBars(_ symbol: String, _ year: Int, _ month: Int) -> String {
        "raw_1s/\(symbol)/\(monthStem(symbol, year, month)).csv"
    }

    /// `SYM_YYYY_MM_<label>.csv`, inside `aggregated/<label>/`.
    public static func aggregatedFile(_ symbol: String, _ year: Int, _ month: Int, _ interval: BarInterval) -> String {
        "\(monthStem(symbol, year, month))_\(label(interval)).csv"
    }
}

public enum ArchivePathError: Error, Equatable, Sendable, CustomStringConvertible {
    case badSymbol(String)

    public var description: String {
        switch self {
        case .badSymbol(let s):
            "\"\(s.prefix(40))\" is not a symbol that can name a file (letters, digits, . - _ :, at most 24)"
        }
    }
}
