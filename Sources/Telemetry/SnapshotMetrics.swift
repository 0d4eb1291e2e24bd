import Metrics

/// Exports counters that a service already keeps (its status and heartbeat counters) through
/// swift-metrics, from periodic snapshots: each ``count(_:total:)`` adds what the total grew by
/// since the last snapshot, so nothing is counted twice and the hot path makes no metric call.
/// Owned by the one task that takes the snapshots.
public final class SnapshotMetrics {
    private let dimensions: [(String, String)]
    private let factory: any MetricsFactory
    private var counters: [String: (counter: Counter, total: UInt64)] = [:]
    private var gauges: [String: Gauge] = [:]

    /// Every metric carries `dimensions`, e.g. `[("process", "ingest")]`; metrics go to
    /// `factory` (the process's bootstrapped one by default).
    public init(dimensions: [(String, String)], factory: any MetricsFactory = MetricsSystem.factory) {
        self.dimensions = dimensions
        self.factory = factory
    }

    /// Counter `name` (a Prometheus name ending in `_total`) now stands at `total`. A total
    /// lower than the last one (a counter that was reset) starts counting again from it.
    public func count(_ name: String, total: UInt64) {
        guard let (counter, last) = counters[name] else {
            let counter = Counter(label: name, dimensions: dimensions, factory: factory)
            counter.increment(by: Int64(clamping: total))
            counters[name] = (counter, total)
            return
        }
        counter.increment(by: Int64(clamping: total >= last ? total - last : total))
        counters[name] = (counter, total)
    }

    /// Gauge `name` now reads `value`.
    public func gauge(_ name: String, _ value: Double) {
        if let gauge = gauges[name] {
            gauge.record(value)
            return
        }
        let gauge = Gauge(label: name, dimensions: dimensions, factory: factory)
        gauge.record(value)
        gauges[name] = gauge
    }
}
