import NIOCore

/// Generation + JSON encoding speed of the synthetic market on the calling thread, without
/// sockets: the ceiling of what one simulator connection can send.
public enum SimulatorBenchmark {
    public struct Result: Sendable {
        public let market: Market
        public let events: Int
        public let frames: Int
        public let bytes: Int
        public let seconds: Double

        public var eventsPerSecond: Double { Double(events) / seconds }
        public var megabytesPerSecond: Double { Double(bytes) / seconds / 1e6 }
        public var bytesPerEvent: Double { Double(bytes) / Double(max(events, 1)) }
    }

    /// Generate and encode `events` events (trades, quotes and bars of every symbol) into
    /// frames of at most `maxFrameBytes`, as a connection subscribed to everything would.
    public static func run(
        events: Int = 2_000_000, market: Market = .stocks, symbols: [String]? = nil, rate: Double = 2_000_000,
        maxFrameBytes: Int = 65_536, seed: UInt64 = 1
    ) -> Result {
        let universe = Universe(
            seed: seed, symbols: [market: symbols ?? market.defaultSymbols], rates: [market: rate])
        let specs = universe.symbols(market)
        let history = HistoryEngine(universe: universe, workLimit: .max, dayTotalsLimit: 0)
        var engine = StreamEngine(symbolCount: specs.count)
        let start: Int64 = 1_735_830_000 * 1_000_000_000  // 2025-01-02 15:00Z
        for spec in specs {
            engine.setStream(spec.index, SymbolStream(spec: spec, startNs: start, mask: 0xFF, barDelayNs: 0, history: history))
        }
        var frame = FrameBuffer(capacity: maxFrameBytes + 1024)
        frame.beginArray()
        var left = events
        var frames = 0
        var bytes = 0
        var cursor = start
        let step: Int64 = max(10_000_000, Int64(8_000 / max(rate, 1) * 1e9))
        let clock = ContinuousClock()
        let began = clock.now
        while left > 0 {
            cursor += step
            engine.beginWindow(limit: cursor)
            var done = false
            while !done, left > 0 {
                var out: [ByteBuffer] = []
                var counts: [Int] = []
                done = WebSocketSession.fill(
                    engine: &engine, frame: &frame, maxFrameBytes: maxFrameBytes, budget: 1 << 20,
                    eventsLeft: &left, out: &out, counts: &counts)
                frames += out.count
                for b in out { bytes += b.readableBytes }
            }
        }
        let elapsed = clock.now - began
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return Result(market: market, events: events, frames: frames, bytes: bytes, seconds: seconds)
    }

    /// Events per second one core generates and encodes (stocks: T, Q, A, AM).
    public static func encodeRate(events: Int = 2_000_000) -> Double {
        run(events: events).eventsPerSecond
    }
}
