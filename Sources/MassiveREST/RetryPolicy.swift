import TickBusCore

/// How a request that failed for a passing reason (429, 5xx, timeout, connection) is sent again.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts per request, the first included.
    public var maxAttempts: Int
    /// The wait after the first failure; it doubles after each further one.
    public var initialDelay: Duration
    /// The longest wait, `Retry-After` included.
    public var maxDelay: Duration

    public init(maxAttempts: Int = 8, initialDelay: Duration = .milliseconds(250), maxDelay: Duration = .seconds(60)) {
        self.maxAttempts = maxAttempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
    }

    /// The wait after attempt `attempt` (1 for the first) failed: the server's `Retry-After`
    /// when it sent one, else `initialDelay · 2^(attempt−1)` randomly shortened by up to half
    /// (so clients spread out); never more than `maxDelay`.
    public func delay(
        afterAttempt attempt: Int, retryAfter: Duration? = nil,
        using generator: inout some RandomNumberGenerator
    ) -> Duration {
        if let retryAfter { return min(max(retryAfter, .zero), maxDelay) }
        let initial = max(initialDelay.nanoseconds, 0)
        let shift = min(max(attempt - 1, 0), 40)
        let (grown, overflow) = initial.multipliedReportingOverflow(by: 1 << Int64(shift))
        let full = min(overflow ? .max : grown, max(maxDelay.nanoseconds, 0))
        guard full > 1 else { return .nanoseconds(full) }
        return .nanoseconds(full - Int64.random(in: 0...(full / 2), using: &generator))
    }
}
