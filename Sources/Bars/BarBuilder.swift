import TickBusCore

/// Builds bars from trades, or from smaller bars, for several intervals at once, per symbol.
///
/// Buckets are aligned to the UTC epoch and stamped at their start. What a trade may update
/// comes from its condition codes (``TradeConditions``, stocks only: other markets' trades update
/// everything); open and close follow trade time, so a trade arriving out of order inside a
/// bucket does not become its close. A bucket closes when `close(upTo:)` passes its end plus
/// `grace`, and is emitted then if some trade set its open/close: a bucket with only volume
/// updates (odd lots, average-price trades) makes no bar, unless `fill` asks for a flat bar at
/// the last close. A trade for a closed bucket within `revisionWindow` of its end updates it
/// and emits it again flagged `.revision`; an older one is counted in ``lateTrades`` and emitted
/// alone as a `.late` addendum for its bucket. Every bar is flagged `.local`.
public struct BarBuilder: Sendable {
    public let intervals: [BarInterval]
    public let conditions: TradeConditions
    /// ns after a bucket's end before it closes.
    public let grace: Int64
    /// ns after a bucket's end during which a trade still revises it.
    public let revisionWindow: Int64
    /// The latest `close(upTo:)` time (ns), `Int64.min` before the first.
    public private(set) var closedUpTo = Int64.min
    /// Trades too old for the bucket of at least one interval (dropped there).
    public private(set) var lateTrades: UInt64 = 0
    /// Bars emitted again with `.revision`.
    public private(set) var revisions: UInt64 = 0
    /// Whether a bucket without trades that set prices closes as a flat bar at the last close.
    public let fill: Bool

    private let widths: [Int64]
    private var index: [Symbol: Int] = [:]
    private var books: [SymbolBuckets] = []

    public init(
        intervals: [BarInterval], grace: Duration = .seconds(2), revisionWindow: Duration = .seconds(900),
        conditions: TradeConditions = .stocks, fill: Bool = false
    ) {
        self.intervals = intervals
        self.fill = fill
        self.conditions = conditions
        self.grace = grace.nanoseconds
        self.revisionWindow = revisionWindow.nanoseconds
        widths = intervals.map(\.nanoseconds)
    }

    /// Adds one trade; `emit` receives the bars it revises (buckets already closed) and the
    /// `.late` addenda of buckets already forgotten.
    @inline(__always)
    public mutating func add(_ trade: Trade, emit: (Record) throws -> Void) rethrows {
        let header = trade.header
        var updates = header.market == .stocks ? conditions.updates(trade.conditions) : .all
        if !trade.size.isFinite { updates.remove(.volume) }
        guard !updates.isEmpty, !trade.price.isNull else { return }
        try place(header, emit: emit) { addendum in
            addendum.add(price: trade.price, size: trade.size, updates: .all)
            if !updates.contains(.volume) { (addendum.volume, addendum.notional, addendum.tradeCount) = (0, 0, 0) }
        } update: { bucket, t in
            bucket.add(price: trade.price, size: trade.size, updates: updates, at: t)
        }
    }

    /// Adds one bar shorter than every interval (e.g. Massive's 1-second `A` bars), merged as
    /// pandas resamples: first open, highest high, lowest low, last close (by bar start), volume,
    /// VWAP and trade count summed. Revisions and late input as for trades.
    public mutating func add(_ bar: Bar, emit: (Record) throws -> Void) rethrows {
        guard !bar.open.isNull, !bar.close.isNull else { return }
        try place(bar.header, emit: emit) { addendum in
            addendum.merge(open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: bar.volume,
                           vwap: bar.vwap, tradeCount: bar.tradeCount)
        } update: { bucket, t in
            bucket.add(bar, at: t)
        }
    }

    /// Puts one input (a trade or a smaller bar, at `header.tsEvent`) into its bucket of every
    /// interval with `update`, emitting the revision when that bucket was closed; for a bucket
    /// past the revision window, emits a `.late` addendum that `fill` makes from the input alone.
    @inline(__always)
    private mutating func place(
        _ header: RecordHeader, emit: (Record) throws -> Void, addendum fill: (inout BarAccumulator) -> Void,
        update: (inout Bucket, Int64) -> Void
    ) rethrows {
        let book = self.book(header)
        let t = header.tsEvent
        var late = false
        for i in 0..<widths.count {
            let width = widths[i]
            let start = t - ((t % width) + width) % width
            guard closedUpTo <= start &+ width &+ revisionWindow else {
                late = true
                var addendum = BarAccumulator(start: start)
                fill(&addendum)
                try emit(.bar(books[book].bar(addendum, interval: intervals[i], flags: [.local, .late], receivedAt: header.tsRecv)))
                continue
            }
            let j = books[book].bucket(i, start: start, closed: start &+ width &+ grace <= closedUpTo)
            update(&books[book].buckets[i][j], t)
            try emitRevision(book, i, j, header.tsRecv, emit)
        }
        if late { lateTrades += 1 }
    }

    /// The book of a symbol, created on its first record.
    @inline(__always)
    private mutating func book(_ header: RecordHeader) -> Int {
        if let i = index[header.symbol] { return i }
        index[header.symbol] = books.count
        books.append(SymbolBuckets(symbol: header.symbol, market: header.market, intervals: widths.count))
        return books.count - 1
    }

    /// Emits bucket `j` of interval `i` again as a revision if it was already closed.
    @inline(__always)
    private mutating func emitRevision(_ book: Int, _ i: Int, _ j: Int, _ receivedAt: Int64,
                                       _ emit: (Record) throws -> Void) rethrows {
        let bucket = books[book].buckets[i][j]
        guard bucket.closed, bucket.acc.hasPrices else { return }
        revisions += 1
        try emit(.bar(books[book].bar(bucket.acc, interval: intervals[i], flags: [.local, .revision], receivedAt: receivedAt)))
    }

    /// Closes every bucket whose end plus `grace` is at or before `now` (ns since the epoch,
    /// wall clock) and emits those with prices, stamped `ts_recv = now`; forgets closed buckets
    /// older than the revision window. Call it from a timer, so quiet symbols close too.
    public mutating func close(upTo now: Int64, emit: (Record) throws -> Void) rethrows {
        guard now > closedUpTo else { return }
        closedUpTo = now
        for b in books.indices {
            for i in 0..<widths.count {
                // Closed buckets are a prefix of the list: close from its end on.
                var j = books[b].closedCount[i]
                while j < books[b].buckets[i].count, books[b].buckets[i][j].acc.start &+ widths[i] &+ grace <= now {
                    books[b].buckets[i][j].closed = true
                    let acc = books[b].buckets[i][j].acc
                    if fill { try emitFlat(b, i, before: acc.start, now: now, emit) }
                    if acc.hasPrices {
                        try emit(.bar(books[b].bar(acc, interval: intervals[i], flags: .local, receivedAt: now)))
                        books[b].lastClose[i] = acc.close
                        books[b].closedEnd[i] = acc.start &+ widths[i]
                    }
                    j += 1
                }
                if fill { try emitFlat(b, i, before: now &- grace &- widths[i] &+ 1, now: now, emit) }
                books[b].closedCount[i] = j
                books[b].forget(i, endedBefore: now &- revisionWindow, width: widths[i])
            }
        }
    }
}

extension BarBuilder {
    /// Emits flat bars (open = high = low = close = the last close, no volume) for the buckets of
    /// interval `i` from the last one closed with prices up to those starting before `limit`.
    private mutating func emitFlat(_ b: Int, _ i: Int, before limit: Int64, now: Int64,
                                   _ emit: (Record) throws -> Void) rethrows {
        let close = books[b].lastClose[i]
        guard !close.isNull else { return }
        var start = books[b].closedEnd[i]
        while start < limit {
            var flat = BarAccumulator(start: start)
            (flat.open, flat.high, flat.low, flat.close) = (close, close, close, close)
            try emit(.bar(books[b].bar(flat, interval: intervals[i], flags: .local, receivedAt: now)))
            start &+= widths[i]
        }
        books[b].closedEnd[i] = max(books[b].closedEnd[i], start)
    }
}

/// One symbol's buckets: per interval, the open and recently closed ones in start order.
private struct SymbolBuckets: Sendable {
    let symbol: Symbol
    let market: Market
    var buckets: [[Bucket]]
    /// Per interval, how many buckets at the front of the list are closed.
    var closedCount: [Int]
    /// Per interval, the close of the last bar closed, and where the next flat bar would start.
    var lastClose: [Price]
    var closedEnd: [Int64]

    init(symbol: Symbol, market: Market, intervals: Int) {
        self.symbol = symbol
        self.market = market
        buckets = Array(repeating: [], count: intervals)
        closedCount = Array(repeating: 0, count: intervals)
        lastClose = Array(repeating: .null, count: intervals)
        closedEnd = Array(repeating: .min, count: intervals)
    }

    /// Drops closed buckets of interval `i` that ended before `limit`, in blocks of 64 (or all of
    /// the list), so the list is not shifted on every close.
    mutating func forget(_ i: Int, endedBefore limit: Int64, width: Int64) {
        var expired = 0
        while expired < closedCount[i], buckets[i][expired].acc.start &+ width < limit { expired += 1 }
        guard expired >= 64 || (expired > 0 && expired == buckets[i].count) else { return }
        buckets[i].removeSubrange(0..<expired)
        closedCount[i] -= expired
    }

    /// The index of interval `i`'s bucket starting at `start`, inserted if new (searched from
    /// the newest: trades come nearly in time order).
    @inline(__always)
    mutating func bucket(_ i: Int, start: Int64, closed: Bool) -> Int {
        var j = buckets[i].count
        while j > 0, buckets[i][j - 1].acc.start > start { j -= 1 }
        if j > 0, buckets[i][j - 1].acc.start == start { return j - 1 }
        // A bucket created closed (a revision) starts after closed ones only: it joins the prefix.
        buckets[i].insert(Bucket(acc: BarAccumulator(start: start), closed: closed), at: j)
        if closed { closedCount[i] += 1 }
        return j
    }

    func bar(_ acc: BarAccumulator, interval: BarInterval, flags: RecordFlags, receivedAt: Int64) -> Bar {
        Bar(
            header: RecordHeader(market: market, flags: flags, tsEvent: acc.start, tsRecv: receivedAt, symbol: symbol),
            open: acc.open, high: acc.high, low: acc.low, close: acc.close, vwap: acc.vwap, volume: acc.volume,
            tradeCount: acc.tradeCount, interval: interval)
    }
}

/// A bucket with the trade times of its open and close.
private struct Bucket: Sendable {
    var acc: BarAccumulator
    var closed: Bool
    var openTime = Int64.max
    var closeTime = Int64.min

    init(acc: BarAccumulator, closed: Bool) {
        self.acc = acc
        self.closed = closed
    }

    /// Open = earliest and close = latest trade time among trades that may set them (the later
    /// arrival wins a tie for close); the rest as ``BarAccumulator/add(price:size:updates:)``.
    @inline(__always)
    mutating func add(price: Price, size: Double, updates: BarAccumulator.Updates, at t: Int64) {
        if updates.contains(.openClose) {
            if t < openTime {
                acc.open = price
                openTime = t
            }
            if t >= closeTime {
                acc.close = price
                closeTime = t
            }
        }
        acc.add(price: price, size: size, updates: updates.subtracting(.openClose))
    }

    /// A smaller bar starting at `t`: its open if it is the earliest, its close if the latest.
    mutating func add(_ bar: Bar, at t: Int64) {
        let (open, close) = (acc.open, acc.close)
        acc.merge(open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: bar.volume, vwap: bar.vwap,
                  tradeCount: bar.tradeCount)
        acc.open = t < openTime ? bar.open : open
        acc.close = t >= closeTime ? bar.close : close
        openTime = min(openTime, t)
        closeTime = max(closeTime, t)
    }
}
