import Journal
import Logging
import Telemetry
import TickBusCore

/// The `event`s a publisher's journal reports on `S.<name>` (docs/journal.md).
public enum JournalStatusEvent: String, StatusEventName {
    /// A new journal file: `file`.
    case file = "journal_file"
    /// An earlier run's torn file was cut: `file`, `cut_bytes`, `kept_messages`, `removed`, `reason`.
    case repaired = "journal_repaired"
    /// The disk refused a write; messages are lost to the journal until it takes them: `file`, `error`.
    case writeFailed = "journal_write_failed"
    /// What the journal lacks: `reason`, `lost`, `ranges` (`topic`, `first`, `last`).
    case hole = "journal_hole"
    /// Retention removed files: `files`, `bytes`.
    case removed = "journal_removed"
}

extension JournalWriter.Event {
    /// How the event is reported: its level, name and fields (after `event`).
    public var status: (level: StatusLevel, event: JournalStatusEvent, fields: (inout JSONObject) -> Void) {
        switch self {
        case .started(let file):
            return (.info, .file, { $0.add("file", string: file) })
        case .repaired(let repair):
            return (.warning, .repaired, { json in
                json.add("file", string: repair.path)
                json.add("cut_bytes", raw: String(repair.cutBytes))
                json.add("kept_messages", raw: String(repair.keptMessages))
                json.add("removed", raw: repair.removed ? "true" : "false")
                json.add("reason", string: repair.reason, limit: 512)
            })
        case .writeFailed(let file, let error):
            return (.error, .writeFailed, { json in
                json.add("file", string: file)
                json.add("error", string: error, limit: 512)
            })
        case .hole(let holes, let reason):
            return (.warning, .hole, { json in
                json.add("reason", string: reason.description)
                json.add("lost", raw: String(holes.messages))
                let shown = holes.ranges.prefix(50).map { r in
                    "{\"topic\":\(JSONObject.quote(r.topic)),\"first\":\(r.first),\"last\":\(r.last)}"
                }
                json.add("ranges", raw: "[" + shown.joined(separator: ",") + "]")
                if holes.ranges.count > shown.count {
                    json.add("ranges_count", raw: String(holes.ranges.count))
                    json.add("ranges_truncated", raw: "true")
                }
            })
        case .removed(let removal):
            return (.info, .removed, { json in
                json.add("files", strings: removal.files, limit: 8192)
                json.add("bytes", raw: String(removal.bytes))
            })
        }
    }

    /// Logs the event at its level.
    public func log(to logger: Logger) {
        let (level, event, fields) = status
        var json = JSONObject()
        fields(&json)
        logger.log(level: level.logLevel, "\(event.rawValue)", metadata: ["detail": "\(json.text)"])
    }
}

extension JournalWriter {
    /// Exports the journal's counters: `tickbus_journal_messages_total`, `_bytes_total`,
    /// `_lost_total`, `_write_errors_total`, `_files_total`, `_removed_files_total` and the
    /// `tickbus_journal_queued_blocks` gauge.
    public func export(to metrics: SnapshotMetrics) {
        let c = counters
        metrics.count("tickbus_journal_messages_total", total: c.messages)
        metrics.count("tickbus_journal_bytes_total", total: c.bytes)
        metrics.count("tickbus_journal_lost_total", total: c.lost)
        metrics.count("tickbus_journal_write_errors_total", total: c.writeErrors)
        metrics.count("tickbus_journal_files_total", total: c.files)
        metrics.count("tickbus_journal_removed_files_total", total: c.removedFiles)
        metrics.gauge("tickbus_journal_queued_blocks", Double(c.queuedBlocks))
    }
}
