import TickBusCore

/// Lets a client's repeated log lines (one per request) through at up to `burst` per `periodNs`
/// and counts the ones it holds back, so a client flooding requests cannot flood the log.
struct LogLimiter {
    var burst = 20
    var periodNs: Int64 = 10_000_000_000
    private var windowStart: Int64 = .min
    private var used = 0
    private var held = 0
    /// Lines held back in all.
    private(set) var suppressed = 0

    /// nil: hold this line back; otherwise log it, with the number held back since the last one.
    mutating func admit(now: Int64 = MonotonicClock.nanoseconds()) -> Int? {
        if windowStart == .min || now - windowStart >= periodNs {
            windowStart = now
            used = 0
        }
        guard used < burst else {
            held += 1
            suppressed += 1
            return nil
        }
        used += 1
        defer { held = 0 }
        return held
    }
}
