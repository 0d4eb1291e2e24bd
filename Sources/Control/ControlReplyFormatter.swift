import Foundation
import TickBusCore

/// Human-readable text for control replies, as `tickbus ctl` prints them.
public enum ControlReplyFormatter {
    public static func ping(_ reply: JSONValue) -> String {
        "\(reply["name"]?.string ?? "?") \(reply["version"]?.string ?? "?"), up \(duration(ms: reply["uptime_ms"]?.int ?? 0))"
    }

    public static func status(_ reply: JSONValue) -> String {
        var lines: [String] = []
        let up = reply["upstream"]
        lines.append("\(reply["name"]?.string ?? "?") \(reply["version"]?.string ?? ""), up \(duration(ms: reply["uptime_ms"]?.int ?? 0))")
        lines.append("upstream   \(up?["state"]?.string ?? "?") since \(up?["since"]?.string ?? "?")")
        lines.append("           \(up?["url"]?.string ?? "?") (\(up?["market"]?.string ?? "?"))")
        if let gap = up?["last_gap"] {
            lines.append("last gap   \(gap["start"]?.string ?? "?") → \(gap["end"]?.string ?? "?")")
        }
        if let reason = up?["last_disconnect"]?.string { lines.append("last drop  \(reason)") }
        if let error = up?["last_subscription_error"]?.string { lines.append("refused    \(error)") }
        if let counters = reply["counters"], case .object(let members) = counters {
            lines.append("counters   " + members.map { "\($0.key) \($0.value.text)" }.joined(separator: ", "))
        }
        let subscriptions = reply["subscriptions"]?.array?.compactMap(\.string) ?? []
        lines.append("subscribed \(subscriptions.isEmpty ? "(nothing)" : subscriptions.joined(separator: " "))")
        lines.append("bus        \(reply["bus"]?.array?.compactMap(\.string).joined(separator: " ") ?? "?"), \(reply["cached_topics"]?.text ?? "0") topics cached")
        if let jobs = reply["jobs"], case .object(let members) = jobs {
            lines.append("jobs       " + members.map { "\($0.key) \($0.value.text)" }.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }

    public static func subscriptions(_ reply: JSONValue) -> String {
        let list = reply["subscriptions"]?.array?.compactMap(\.string) ?? []
        let acknowledged = Set(reply["acknowledged"]?.array?.compactMap(\.string) ?? [])
        guard !list.isEmpty else { return "no subscriptions" }
        return table(["SUBSCRIPTION", "UPSTREAM"], list.map { [$0, acknowledged.contains($0) ? "acknowledged" : "pending"] })
    }

    public static func snapshot(_ reply: JSONValue) -> String {
        let records = reply["records"]?.array ?? []
        guard !records.isEmpty else { return "no cached records match" }
        var rows: [[String]] = []
        for record in records {
            let fields: String
            switch record["kind"]?.string {
            case "trade": fields = "\(record["price"]?.text ?? "") x \(record["size"]?.text ?? "")"
            case "quote":
                fields = "\(record["bid_price"]?.text ?? "") x \(record["bid_size"]?.text ?? "") / \(record["ask_price"]?.text ?? "") x \(record["ask_size"]?.text ?? "")"
            case "bar":
                fields = "o \(record["open"]?.text ?? "") h \(record["high"]?.text ?? "") l \(record["low"]?.text ?? "") c \(record["close"]?.text ?? "") v \(record["volume"]?.text ?? "")"
            case "status": fields = record["json"]?.string ?? ""
            default: fields = ""
            }
            rows.append([record["topic"]?.string ?? "?", record["sequence"]?.text ?? "?", record["time"]?.string ?? "?", fields])
        }
        var text = table(["TOPIC", "SEQ", "TIME", "VALUES"], rows)
        if reply["truncated"]?.bool == true { text += "\n(truncated: ask for fewer topics)" }
        return text
    }

    public static func jobs(_ reply: JSONValue) -> String {
        let jobs = reply["jobs"]?.array ?? []
        guard !jobs.isEmpty else { return "no backfill jobs" }
        return table(
            ["ID", "STATE", "SYMBOL", "TIMESPAN", "FROM", "TO", "PROGRESS", "RECORDS", "NOTE"],
            jobs.map { job in
                [job["id"]?.string ?? "?", job["state"]?.string ?? "?", job["symbol"]?.string ?? "?",
                 job["timespan"]?.string ?? "?", job["from"]?.string ?? "?", job["to"]?.string ?? "?",
                 percent(job["progress"]?.double ?? 0), job["records"]?.text ?? "0",
                 job["error"]?.string ?? job["note"]?.string ?? ""]
            })
    }

    public static func job(_ reply: JSONValue) -> String {
        guard let job = reply["job"], case .object(let members) = job else { return reply.text }
        let width = members.map(\.key.count).max() ?? 0
        return members.map { member in
            member.key.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                + (member.value.string ?? member.value.text)
        }.joined(separator: "\n")
    }

    /// `[##########··········]  50.0%  12345 records  3 pages  running`, for `job --watch`.
    public static func progressBar(_ job: JSONValue, width: Int = 30) -> String {
        let progress = job["progress"]?.double ?? 0
        let filled = Int((progress * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: "·", count: max(0, width - filled))
        var text = "[\(bar)] \(percent(progress).leftPadded(6))  \(job["records"]?.text ?? "0") records  \(job["pages"]?.text ?? "0") pages  \(job["state"]?.string ?? "?")"
        if let note = job["error"]?.string ?? job["note"]?.string { text += "  \(note)" }
        return text
    }

    /// `text` safe to print on a terminal: control characters other than the newline (ESC, BEL,
    /// NUL, DEL, C1), which a peer may have put into a subscription or a message, are shown as
    /// `\u{1B}` instead of being obeyed.
    public static func terminalSafe(_ text: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if (v < 0x20 && scalar != "\n") || (0x7F...0x9F).contains(v) {
                out += "\\u{" + String(v, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Left-aligned columns, two spaces apart.
    public static func table(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }

    static func percent(_ fraction: Double) -> String {
        "\(Double(Int(fraction * 1000)) / 10)%"
    }

    static func duration(ms: Int64) -> String {
        let s = ms / 1000
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min \(s % 60) s" }
        return "\(s / 3600) h \(s % 3600 / 60) min"
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
