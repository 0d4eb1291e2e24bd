import TickBusCore

/// Renders bus events as text lines or JSON objects (records through ``RecordFormatter``).
public enum BusEventFormatter {
    public static func text(_ event: BusEvent) -> String {
        switch event {
        case .record(let record):
            return RecordFormatter.text(record)
        case .gap(let topic, let expected, let received, let lost):
            return "!! gap on \(topic): expected #\(expected), received #\(received), \(lost) lost"
        case .restart(let topic, let previous, let epoch):
            return "!! publisher restarted (seen on \(topic)): epoch \(previous) -> \(epoch), sequences start again"
        case .silent(let publisher, let silentFor):
            return publisher.map { "!! no heartbeat from \($0) for \(milliseconds(silentFor)) ms" }
                ?? "!! no heartbeat from any publisher for \(milliseconds(silentFor)) ms: is one running on the endpoint?"
        case .resumed(let publisher):
            return "!! heartbeats from \(publisher) resumed"
        case .invalid(let error):
            return "!! invalid message (\(error.category)): \(error)"
        }
    }

    public static func json(_ event: BusEvent) -> String {
        var out = JSONObject()
        switch event {
        case .record(let record):
            return RecordFormatter.json(record)
        case .gap(let topic, let expected, let received, let lost):
            out.add("event", string: "gap")
            out.add("topic", string: topic.description)
            out.add("expected", raw: String(expected))
            out.add("received", raw: String(received))
            out.add("lost", raw: String(lost))
        case .restart(let topic, let previous, let epoch):
            out.add("event", string: "restart")
            out.add("topic", string: topic.description)
            out.add("previous_epoch", raw: String(previous))
            out.add("epoch", raw: String(epoch))
        case .silent(let publisher, let silentFor):
            out.add("event", string: "silent")
            out.add("publisher", raw: publisher.map(JSONObject.quote) ?? "null")
            out.add("silent_ms", raw: String(milliseconds(silentFor)))
        case .resumed(let publisher):
            out.add("event", string: "resumed")
            out.add("publisher", string: publisher)
        case .invalid(let error):
            out.add("event", string: "invalid")
            out.add("category", string: error.category)
            out.add("error", string: error.description)
        }
        return out.text
    }

    private static func milliseconds(_ d: Duration) -> Int64 { d.nanoseconds / 1_000_000 }
}
