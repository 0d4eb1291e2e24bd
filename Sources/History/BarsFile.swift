import Archive
import Foundation

/// A month's bars file on disk: `SYM_YYYY_MM.csv` or `SYM_YYYY_MM_<label>.csv`.
public struct BarsFile: Hashable, Sendable, Comparable {
    public let path: String
    public let symbol: String
    public let year: Int
    public let month: Int

    public static func < (a: BarsFile, b: BarsFile) -> Bool { (a.symbol, a.year, a.month) < (b.symbol, b.year, b.month) }

    /// Parses a file name `SYM_YYYY_MM<suffix>.csv`; nil if it is not one.
    public static func parse(name: String, directory: String, suffix: String = "") -> BarsFile? {
        let tail = "\(suffix).csv"
        guard name.hasSuffix(tail) else { return nil }
        let stem = name.dropLast(tail.count)
        let parts = stem.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count >= 3, let month = Int(parts[parts.count - 1]), let year = Int(parts[parts.count - 2]),
              parts[parts.count - 1].count == 2, parts[parts.count - 2].count == 4, (1...12).contains(month)
        else { return nil }
        let symbol = parts.dropLast(2).joined(separator: "_")
        guard (try? ArchivePath.validate(symbol: symbol)) != nil else { return nil }
        return BarsFile(path: directory + "/" + name, symbol: symbol, year: year, month: month)
    }

    /// The month files of `symbol` in `directory`, oldest first.
    public static func list(in directory: String, symbol: String, suffix: String = "") -> [BarsFile] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { parse(name: $0, directory: directory, suffix: suffix) }.filter { $0.symbol == symbol }.sorted()
    }

    /// Every month file in `directory`, oldest first per symbol.
    public static func list(in directory: String, suffix: String = "") -> [BarsFile] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { parse(name: $0, directory: directory, suffix: suffix) }.sorted()
    }
}

/// A problem in a file, with where it is.
public struct FileProblem: Error, Hashable, Sendable, CustomStringConvertible {
    public let path: String
    /// 1-based; 0 for the file as a whole.
    public let line: Int
    public let message: String

    public init(_ path: String, _ line: Int, _ message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "\(path):\(line): \(message)" : "\(path): \(message)" }
}
