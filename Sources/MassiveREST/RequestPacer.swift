import Synchronization

/// Keeps requests under a per-minute budget: at most `perMinute` request starts in any 60 s.
final class RequestPacer: Sendable {
    let perMinute: Int
    /// Start times handed out, ascending (some may lie in the future).
    private let starts = Mutex<[ContinuousClock.Instant]>([])

    init(perMinute: Int) { self.perMinute = perMinute }

    /// Reserves the next start time; returns how long to wait for it.
    func reserve(now: ContinuousClock.Instant = .now) -> Duration {
        starts.withLock { starts in
            let window = Duration.seconds(60)
            if let keep = starts.firstIndex(where: { $0 > now - window }) {
                starts.removeFirst(keep)
            } else {
                starts.removeAll()
            }
            var slot = now
            if starts.count >= perMinute { slot = max(now, starts[starts.count - perMinute] + window) }
            starts.append(slot)
            return slot - now
        }
    }
}
