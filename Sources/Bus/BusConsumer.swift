import Logging
import Telemetry
import TickBusCore

/// What a service does with what it reads from the bus. ``ConsumerService`` owns the rest:
/// the thread, the subscriber, input gap and restart reports, the status publisher, counters,
/// metrics and lifecycle. A consumer lives on that thread only, so it needs no locks.
public protocol BusConsumer {
    /// What it has done, shared with other threads every tick.
    associatedtype Counters: Sendable & Equatable

    /// Counters before anything happened.
    static var initialCounters: Counters { get }

    /// The prefix of its metric names: `tickbus_<kind>_…` (`bars`, `archive`).
    static var metricsKind: String { get }

    /// A record its filters let through.
    mutating func consume(_ record: Record)

    /// A gap, restart, silence or invalid message on the input, after the service has counted
    /// and reported it.
    mutating func notice(_ event: BusEvent)

    /// Time-driven work (closing bars, flushing files), about every tick of the wall clock.
    mutating func tick(now: Int64)

    /// The last work before the service ends (stopped, or the input failed), with what the
    /// subscriber saw.
    mutating func finish(input: Subscriber.Counters)

    /// Whether it is done before being stopped (`tap --count`).
    var isFinished: Bool { get }

    var counters: Counters { get }

    /// Exports `counters` under its own names; docs/operations.md lists them.
    static func export(_ counters: Counters, to metrics: SnapshotMetrics)
}

extension BusConsumer {
    public mutating func notice(_ event: BusEvent) {}
    public mutating func tick(now: Int64) {}
    public mutating func finish(input: Subscriber.Counters) {}
    public var isFinished: Bool { false }
}

/// The `event` names a service reports on `S.<name>`: one enum per service, so each name is
/// written once.
public protocol StatusEventName: RawRepresentable<String> {}

/// What a consumer gets from its service: the status publisher, where status goes, a logger.
public struct ConsumerContext {
    /// The service's publisher (its `S.<name>` and `H.<name>`, and what it publishes), or nil
    /// for a service that only reads.
    public let publisher: PublisherService?
    public let name: Symbol
    public let logger: Logger
    let outbox: StatusOutbox?

    /// Sends `{"event": event, …fields}` on `S.<name>` (held until a reader subscribes, see
    /// ``StatusOutbox``); without a publisher it is only logged.
    public func report(_ level: StatusLevel, _ event: some StatusEventName, _ fields: (inout JSONObject) -> Void = { _ in }) {
        var json = JSONObject()
        json.add("event", string: event.rawValue)
        fields(&json)
        if let outbox { outbox.send(level, json.text) } else { logger.log(level: level.logLevel, "\(json.text)") }
    }
}

extension StatusLevel {
    var logLevel: Logger.Level {
        switch self {
        case .info: .info
        case .warning: .warning
        case .error: .error
        }
    }
}
