import TickBusCore

/// The bar being built for one bucket: open = first, high/low, close = last, volume sum, VWAP
/// and trade count. Filled from trades (with what each trade may update) or from smaller bars.
public struct BarAccumulator: Sendable, Equatable {
    /// The bucket's start (ns since the epoch).
    public var start: Int64
    public var open = Price.null
    public var high = Price.null
    public var low = Price.null
    public var close = Price.null
    public var volume = 0.0
    /// Σ price × size of the volume, for the VWAP.
    public var notional = 0.0
    public var tradeCount: UInt64 = 0

    public init(start: Int64) { self.start = start }

    /// Whether any input set a price (a bar with only volume updates has none).
    public var hasPrices: Bool { !open.isNull }

    /// Which fields one trade may update (Massive's condition update rules).
    public struct Updates: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let highLow = Updates(rawValue: 1 << 0)
        public static let openClose = Updates(rawValue: 1 << 1)
        public static let volume = Updates(rawValue: 1 << 2)
        public static let all: Updates = [.highLow, .openClose, .volume]
    }

    /// Adds one trade, in time order.
    @inline(__always)
    public mutating func add(price: Price, size: Double, updates: Updates = .all) {
        if updates.contains(.openClose) {
            if open.isNull { open = price }
            close = price
        }
        if updates.contains(.highLow) {
            if high.isNull || price > high { high = price }
            if low.isNull || price < low { low = price }
        }
        if updates.contains(.volume) {
            volume += size
            notional += price.doubleValue * size
            tradeCount += 1
        }
    }

    /// Adds a smaller bar of this bucket, in time order (pandas: first, max, min, last, sum).
    @inline(__always)
    public mutating func merge(open: Price, high: Price, low: Price, close: Price, volume: Double, vwap: Price = .null,
                               tradeCount: UInt64 = 0) {
        if self.open.isNull { self.open = open }
        self.close = close
        if self.high.isNull || high > self.high { self.high = high }
        if self.low.isNull || low < self.low { self.low = low }
        self.volume += volume
        if !vwap.isNull { notional += vwap.doubleValue * volume }
        self.tradeCount += tradeCount
    }

    /// The VWAP, or null without volume.
    public var vwap: Price {
        volume > 0 && notional > 0 ? Price(rounding: notional / volume) : .null
    }
}
