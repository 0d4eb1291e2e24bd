import TickBusCore

/// Resamples time-ordered bars into larger buckets, several lengths in one pass. Buckets are
/// aligned to the UTC epoch and labelled by their start; each takes open = first, high = max,
/// low = min, close = last, volume = sum (pandas' `resample(label='left', closed='left')` with
/// `first/max/min/last/sum`). A bucket without input bars produces nothing.
public struct Resampler: Sendable {
    public let intervals: [BarInterval]
    private let widths: [Int64]
    private var open: [BarAccumulator?]
    /// Where each open bucket ends (`Int64.min` when none is open).
    private var ends: [Int64]
    private var last = Int64.min

    public init(intervals: [BarInterval]) {
        self.intervals = intervals
        widths = intervals.map(\.nanoseconds)
        open = Array(repeating: nil, count: intervals.count)
        ends = Array(repeating: .min, count: intervals.count)
    }

    /// Adds one bar starting at `start` (ns); `emit(i, bar)` receives each bucket of
    /// `intervals[i]` that this bar closes. Bars must come in time order.
    @inline(__always)
    public mutating func add(
        start: Int64, open o: Price, high: Price, low: Price, close: Price, volume: Double, vwap: Price = .null,
        tradeCount: UInt64 = 0, emit: (Int, BarAccumulator) throws -> Void
    ) throws {
        guard start >= last else { throw ResamplerError.outOfOrder(previous: last, next: start) }
        last = start
        for i in 0..<widths.count {
            if start >= ends[i] {
                if let current = open[i] { try emit(i, current) }
                let bucket = start - ((start % widths[i]) + widths[i]) % widths[i]
                open[i] = BarAccumulator(start: bucket)
                ends[i] = bucket + widths[i]
            }
            open[i]!.merge(open: o, high: high, low: low, close: close, volume: volume, vwap: vwap, tradeCount: tradeCount)
        }
    }

    /// Emits the buckets still open, and starts afresh.
    public mutating func finish(emit: (Int, BarAccumulator) throws -> Void) rethrows {
        for i in 0..<open.count {
            if let current = open[i] { try emit(i, current) }
            open[i] = nil
            ends[i] = .min
        }
        last = .min
    }
}

public enum ResamplerError: Error, Equatable, CustomStringConvertible {
    case outOfOrder(previous: Int64, next: Int64)

    public var description: String {
        switch self {
        case .outOfOrder(let previous, let next):
            "bars out of time order: \(UTCTime.iso8601(nanoseconds: next)) after \(UTCTime.iso8601(nanoseconds: previous))"
        }
    }
}
