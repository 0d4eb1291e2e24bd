import Foundation
import Logging
import TickBusCore

/// A swift-log handler that writes one JSON object per line to standard error:
/// `{"ts":"2026-01-02T14:30:00.123Z","level":"info","label":"tickbus.ingest","message":"…",…metadata}`.
/// Metadata keys are top-level fields (nested values as JSON); `ts`, `level`, `label` and
/// `message` win over metadata of the same name.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let write: @Sendable (String) -> Void

    public init(label: String, write: @escaping @Sendable (String) -> Void = JSONLogHandler.standardError) {
        self.label = label
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { $1 } }
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        var line = "{\"ts\":\(JSONObject.quote(Self.timestamp()))"
        line += ",\"level\":\(JSONObject.quote(event.level.rawValue)),\"label\":\(JSONObject.quote(label))"
        line += ",\"message\":\(JSONObject.quote(event.message.description))"
        for (key, value) in fields.sorted(by: { $0.key < $1.key })
        where !["ts", "level", "label", "message"].contains(key) {
            line += ",\(JSONObject.quote(key)):\(Self.json(value))"
        }
        write(line + "}\n")
    }

    /// Writes to standard error in one call, so concurrent lines do not interleave.
    public static let standardError: @Sendable (String) -> Void = { line in
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { Foundation.write(2, $0.baseAddress, $0.count) }
    }

    static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let s): JSONObject.quote(s)
        case .stringConvertible(let c): JSONObject.quote(c.description)
        case .array(let list): "[" + list.map(json).joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            "{" + dictionary.sorted { $0.key < $1.key }.map { JSONObject.quote($0.key) + ":" + json($0.value) }.joined(separator: ",") + "}"
        }
    }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ n: Int32, _ width: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
    }
}

/// How a process logs: `text` (swift-log's stream handler) or `json` lines, both on stderr.
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json

    /// Installs the process-wide handler (once per process, as swift-log requires).
    public func bootstrap(level: Logger.Level) {
        switch self {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case .json:
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
