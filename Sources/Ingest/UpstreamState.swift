import Massive
import TickBusCore

/// Where ingest's upstream connection is, as `status` reports it (`upstream.state`).
enum UpstreamPhase: String, Sendable {
    case starting, connecting, connected, streaming, disconnected, retrying
}

/// What ingest knows of its upstream connection, for the `status` and `subscriptions` replies.
struct UpstreamState: Sendable {
    var state = UpstreamPhase.starting
    /// When `state` was entered (ns since the epoch).
    var since = WallClock.nanoseconds()
    var attempt = 0
    var connections: UInt64 = 0
    var disconnections: UInt64 = 0
    /// Disconnections after data had flowed, each reported with its window.
    var gaps: UInt64 = 0
    var lastGap: (start: Int64, end: Int64)?
    var lastDisconnect: String?
    var lastUpstreamStatus: String?
    /// Params Massive acknowledged on this connection (`subscribed to: T.AAPL`).
    var acknowledged: Set<String> = []
    var lastSubscriptionError: String?

    mutating func enter(_ state: UpstreamPhase) {
        self.state = state
        since = WallClock.nanoseconds()
    }

    /// Updates the state for one stream event.
    mutating func apply(_ event: StreamEvent) {
        switch event {
        case .connecting(_, let attempt):
            self.attempt = attempt
            enter(.connecting)
        case .connected:
            connections += 1
            enter(.connected)
        case .authenticated:
            acknowledged = []
            enter(.streaming)
        case .subscribed(let message):
            let prefix = "subscribed to: "
            if message.hasPrefix(prefix) { acknowledged.insert(String(message.dropFirst(prefix.count))) }
            let unsubscribed = "unsubscribed to: "
            if message.hasPrefix(unsubscribed) { acknowledged.remove(String(message.dropFirst(unsubscribed.count))) }
        case .subscriptionError(let message):
            lastSubscriptionError = message
        case .upstreamStatus(let status):
            lastUpstreamStatus = "\(status.status): \(status.message)"
        case .disconnected(let reason, _):
            disconnections += 1
            lastDisconnect = reason
            acknowledged = []
            enter(.disconnected)
        case .resumed(let start, let end, _):
            gaps += 1
            lastGap = (start, end)
        case .retrying:
            enter(.retrying)
        }
    }
}
