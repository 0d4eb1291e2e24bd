/// Walks a symbol's price path second by second, handing out one generator per second, with
/// the event rate of the market's session at that second. The path is evaluated only for
/// seconds with events (closed and quiet seconds cost a hash).
struct PathCursor: Sendable {
    let spec: SymbolSpec
    private(set) var second: Int64
    private var startTicks = 0.0
    private var startKnown = false
    /// The sessions of the market day of `second`.
    private(set) var day: DaySchedule

    init(spec: SymbolSpec, second: Int64) {
        self.spec = spec
        self.second = second
        self.day = spec.calendar.schedule(containing: second)
    }

    /// The generator of `second`, then advance to the next second.
    mutating func nextSecond() -> SecondGenerator {
        if second >= day.end || second < day.start { day = spec.calendar.schedule(containing: second) }
        var g = SecondGenerator(
            spec: spec, activity: spec.activity(day.phase(at: second)), second: second, dayStart: day.start)
        if g.count == 0 {
            startKnown = false
        } else {
            if !startKnown { startTicks = spec.midTicks(at: second) }
            let end = spec.midTicks(at: second + 1)
            g.setPath(startTicks: startTicks, endTicks: end)
            startTicks = end
            startKnown = true
        }
        second += 1
        return g
    }

    /// A generator for any one second.
    static func generator(spec: SymbolSpec, second: Int64) -> SecondGenerator {
        var c = PathCursor(spec: spec, second: second)
        return c.nextSecond()
    }

    /// All events of one second aggregated.
    mutating func nextSummary() -> BarAccumulator {
        var g = nextSecond()
        var acc = BarAccumulator()
        while let e = g.next(spec) { acc.add(e, market: spec.market) }
        return acc
    }
}

/// Day-level running totals for `av`, `op` and `a` on the stream: the market day's trades so
/// far, the same for every connection and equal to REST's.
struct DayState: Sendable {
    var start: Int64
    var end: Int64
    var open: Int64?
    var volume: Int64 = 0
    var notional: Double = 0

    init(_ schedule: DaySchedule) {
        start = schedule.start
        end = schedule.end
    }

    mutating func add(_ acc: BarAccumulator) {
        volume &+= acc.volume
        notional += acc.notional
        if open == nil, acc.hasOHLC { open = acc.open }
    }
}

enum StreamItem {
    case event(SimEvent)
    case bar(BarRecord)
}

/// The live stream of one symbol on one connection: events in time order, with the second and
/// minute bars computed from them and released at the end of their window (plus a delay).
struct SymbolStream: Sendable {
    let spec: SymbolSpec
    var mask: UInt8
    private var cursor: PathCursor
    private var gen: SecondGenerator
    private var peek: SimEvent?
    private var secondAcc = BarAccumulator()
    private var minuteAcc = BarAccumulator()
    private var day: DayState
    private var pending: [BarRecord] = []
    private var pendingHead = 0
    private let barDelayNs: Int64
    /// The current minute was not generated from its start (too many events to backfill):
    /// its AM bar is not sent.
    private var minuteIncomplete = false

    /// Largest number of events generated to complete the first minute on subscribe.
    static let backfillLimit = 500_000.0

    /// Start streaming events strictly after `startNs`. The current minute is generated from
    /// its start so the first AM bar is complete; `av`, `op` and `a` start from the day's totals
    /// before that minute (`HistoryEngine.dayTotals`: exact and shared with REST, or an estimate
    /// on very busy days). Above `backfillLimit` events the first minute is not backfilled and
    /// its AM bar is skipped.
    init(spec: SymbolSpec, startNs: Int64, mask: UInt8, barDelayNs: Int64, history: HistoryEngine) {
        self.spec = spec
        self.mask = mask
        self.barDelayNs = barDelayNs
        let s0 = floorDiv(startNs, 1_000_000_000)
        let exactMinuteStart = floorDiv(s0, 60) * 60
        let backfill = spec.expectedEvents(from: exactMinuteStart, to: s0) <= Self.backfillLimit
        let minuteStart = backfill ? exactMinuteStart : s0
        minuteIncomplete = !backfill
        var day = history.dayTotals(spec, upTo: minuteStart)
        // The current minute up to the start second, generated exactly.
        var cursor = PathCursor(spec: spec, second: minuteStart)
        var minuteAcc = BarAccumulator()
        while cursor.second < s0 {
            let acc = cursor.nextSummary()
            minuteAcc.merge(acc)
            day.add(acc)
        }
        self.day = day
        self.minuteAcc = minuteAcc
        self.gen = cursor.nextSecond()
        self.cursor = cursor
        // Events of the start second up to startNs are aggregated but not sent.
        while let e = gen.next(spec) {
            secondAcc.add(e, market: spec.market)
            if e.timestampNs > startNs {
                peek = e
                break
            }
        }
    }

    /// The key of the next item due at or before `limit`, advancing through finished seconds.
    mutating func nextKey(limit: Int64) -> Int64? {
        while peek == nil, (gen.second + 1) &* 1_000_000_000 <= limit {
            finishSecond()
        }
        var best = Int64.max
        if let p = peek { best = p.timestampNs }
        if pendingHead < pending.count, pending[pendingHead].key <= best { best = pending[pendingHead].key }
        return best <= limit ? best : nil
    }

    /// Remove and return the next item (call after `nextKey` returned a key).
    mutating func pop() -> StreamItem {
        if pendingHead < pending.count, peek == nil || pending[pendingHead].key <= peek!.timestampNs {
            let bar = pending[pendingHead]
            pendingHead += 1
            if pendingHead == pending.count {
                pending.removeAll(keepingCapacity: true)
                pendingHead = 0
            }
            return .bar(bar)
        }
        let e = peek!
        peek = gen.next(spec)
        if let p = peek { secondAcc.add(p, market: spec.market) }
        return .event(e)
    }

    private mutating func finishSecond() {
        let s = gen.second
        if s >= day.end { day = DayState(spec.calendar.schedule(containing: s)) }
        day.add(secondAcc)
        if secondAcc.hasOHLC {
            pending.append(barRecord(.secondBar, start: s, seconds: 1, acc: secondAcc))
        }
        minuteAcc.merge(secondAcc)
        secondAcc = BarAccumulator()
        if floorMod(s + 1, 60) == 0 {
            if minuteAcc.hasOHLC, !minuteIncomplete {
                pending.append(barRecord(.minuteBar, start: s + 1 - 60, seconds: 60, acc: minuteAcc))
            }
            minuteAcc = BarAccumulator()
            minuteIncomplete = false
        }
        gen = cursor.nextSecond()
        peek = gen.next(spec)
        if let p = peek { secondAcc.add(p, market: spec.market) }
    }

    private func barRecord(_ kind: EventKind, start: Int64, seconds: Int64, acc: BarAccumulator) -> BarRecord {
        let end = start + seconds
        return BarRecord(
            kind: kind, key: end &* 1_000_000_000 &+ barDelayNs, startMs: start * 1000, endMs: end * 1000,
            acc: acc, dayOpen: day.open ?? acc.open, dayVolume: day.volume, dayNotional: day.notional)
    }
}

extension SymbolSpec {
    /// Mean traded volume per second of the regular session (units of `size`), for the
    /// day-so-far estimate.
    var expectedVolumePerSecond: Double {
        let trades = lambda * pTrade
        switch market {
        case .stocks: return trades * 330
        case .options: return trades * 20.4
        case .crypto: return trades * 5_780 * unitsPerDollar
        case .forex: return lambda
        case .indices: return 0
        }
    }
}

/// Merges the streams of one connection's symbols into one time-ordered sequence.
struct StreamEngine {
    /// Active streams, densely packed (mutated in place, never copied out).
    private var active: [SymbolStream] = []
    /// Symbol index → position in `active`, or -1.
    private var position: [Int]
    private var heap: [(key: Int64, slot: Int)] = []
    private var limit: Int64 = .min

    init(symbolCount: Int) {
        position = Array(repeating: -1, count: symbolCount)
    }

    var isEmpty: Bool { active.isEmpty }

    func hasStream(_ symbol: Int) -> Bool { position[symbol] >= 0 }

    mutating func setStream(_ symbol: Int, _ stream: SymbolStream?) {
        heap.removeAll()
        if let p = position[symbol] >= 0 ? position[symbol] : nil {
            if let stream {
                active[p] = stream
            } else {
                let last = active.count - 1
                if p != last {
                    active.swapAt(p, last)
                    position[active[p].spec.index] = p
                }
                active.removeLast()
                position[symbol] = -1
            }
        } else if let stream {
            position[symbol] = active.count
            active.append(stream)
        }
    }

    mutating func setMask(_ symbol: Int, _ mask: UInt8) {
        let p = position[symbol]
        if p >= 0 { active[p].mask = mask }
    }

    /// Start emitting everything due up to `limit` (ns).
    mutating func beginWindow(limit: Int64) {
        self.limit = limit
        heap.removeAll(keepingCapacity: true)
        for p in active.indices {
            if let k = active[p].nextKey(limit: limit) { push(k, p) }
        }
    }

    /// The next item of the current window in (time, symbol) order, with the symbol's spec and mask.
    mutating func next() -> (item: StreamItem, spec: SymbolSpec, mask: UInt8)? {
        guard let top = heap.first else { return nil }
        let p = top.slot
        let item = active[p].pop()
        let spec = active[p].spec
        let mask = active[p].mask
        if let k = active[p].nextKey(limit: limit) {
            heap[0] = (k, p)
            siftDown(0)
        } else {
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                siftDown(0)
            }
        }
        return (item, spec, mask)
    }

    @inline(__always)
    private func less(_ a: (key: Int64, slot: Int), _ b: (key: Int64, slot: Int)) -> Bool {
        if a.key != b.key { return a.key < b.key }
        return active[a.slot].spec.index < active[b.slot].spec.index
    }

    private mutating func push(_ key: Int64, _ slot: Int) {
        heap.append((key, slot))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let n = heap.count
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var m = i
            if l < n, less(heap[l], heap[m]) { m = l }
            if r < n, less(heap[r], heap[m]) { m = r }
            if m == i { return }
            heap.swapAt(i, m)
            i = m
        }
    }
}
