import Foundation
import Massive

/// Settings files: `key = value` lines with `#` comments (the config file), and `.env` files
/// (`MASSIVE_API_KEY=...`, `export` allowed). Values may be quoted.
public enum SettingsFile {
    public static func parse(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for rawLine in text.split(whereSeparator: \.isNewline) {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)) }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            } else if let hash = value.range(of: " #") {
                value = value[..<hash.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            values[key] = value
        }
        return values
    }

    /// Reads and parses a file; a missing file is an error with its path.
    public static func load(_ path: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw SettingsError.unreadable(path) }
        return parse(String(decoding: data, as: UTF8.self))
    }

    /// `MASSIVE_API_KEY` from the environment, else from the `.env` file at `envFile` if it
    /// exists. The key is never logged.
    public static func apiKey(environment: [String: String], envFile: String) -> String? {
        if let key = environment["MASSIVE_API_KEY"], !key.isEmpty { return key }
        guard FileManager.default.fileExists(atPath: envFile), let values = try? load(envFile),
              let key = values["MASSIVE_API_KEY"], !key.isEmpty
        else { return nil }
        return key
    }
}

public enum SettingsError: Error, CustomStringConvertible {
    case unreadable(String)

    public var description: String {
        switch self {
        case .unreadable(let path): "cannot read settings file \(path)"
        }
    }
}
