import ServiceLifecycle

/// A service that copies counters a process keeps elsewhere (behind a lock, or asked of a
/// thread) into swift-metrics every `interval`, until graceful shutdown: `snapshot` is called
/// with the same ``SnapshotMetrics`` each time, from this service's task only.
public struct CounterExporter: Service {
    private let process: String
    private let interval: Duration
    private let snapshot: @Sendable (SnapshotMetrics) -> Void

    /// Metrics carry the dimension `process`.
    public init(process: String, interval: Duration, snapshot: @escaping @Sendable (SnapshotMetrics) -> Void) {
        self.process = process
        self.interval = interval
        self.snapshot = snapshot
    }

    public func run() async throws {
        let process = process, interval = interval, snapshot = snapshot
        try? await cancelWhenGracefulShutdown {
            let metrics = SnapshotMetrics(dimensions: [("process", process)])
            while true {
                snapshot(metrics)
                try await Task.sleep(for: interval)
            }
        }
    }
}
