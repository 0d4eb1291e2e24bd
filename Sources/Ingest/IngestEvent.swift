import Bus

/// The `event` of every status ingest publishes on `S.<name>` (docs/ingest.md describes each).
enum IngestEvent: String, StatusEventName {
    case starting, stopped
    // The upstream connection.
    case connecting, connected, authenticated, subscribed, disconnected, reconnected, retrying
    case subscriptionError = "subscription_error"
    case upstreamStatus = "upstream_status"
    /// The decoder's counters, when they changed.
    case counters
    /// A `subscribe` or `unsubscribe` request changed the list.
    case subscriptionsChanged = "subscriptions_changed"
    // Backfill jobs.
    case jobQueued = "job_queued"
    case jobDone = "job_done"
    case jobFailed = "job_failed"
    case jobProgress = "job_progress"
}
