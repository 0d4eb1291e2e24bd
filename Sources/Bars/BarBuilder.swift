import TickBusCore

/// Builds bars from trades for several intervals at once, per symbol.
///
/// Buckets are aligned to the UTC epoch and stamped at their start. What a trade may update
/// comes from its condition codes (``TradeConditions``, stocks only: other markets' trades update
/// everything); open and close follow trade time, so a trade arriving out of order inside a
/// bucket does not become its close. A bucket closes when `close(upTo:)` passes its end plus
/// `grace`, and is emitted then if some trade set its open/close: a bucket with only volume
/// updates (odd lots, average-price trades) makes no bar. A trade for a closed bucket within
/// `revisionWindow` of its end updates it and emits it again flagged `.revision`; an older one
/// only counts in ``lateTrades``. Every bar is flagged `.local`.
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

    private let widths: [Int64]
    private var index: [Symbol: Int] = [:]
    private var books: [SymbolBuckets] = []

    public init(
        intervals: [BarInterval], grace: Duration = .seconds(2), revisionWindow: Duration = .seconds(900),
        conditions: TradeConditions = .stocks
    ) {
        self.intervals = intervals
        self.conditions = conditions
        self.grace = grace.nanoseconds
        self.revisionWindow = revisionWindow.nanoseconds
        widths = intervals.map(\.nanoseconds)
    }

    /// Adds one trade; `emit` receives the bars it revises (buckets already closed).
    @inline(__always)
    public mutating func add(_ trade: Trade, emit: (Record) throws -> Void) rethrows {
        let header = trade.header
        var updates = header.market == .stocks ? conditions.updates(trade.conditions) : .all
        if !trade.size.isFinite { updates.remove(.volume) }
        guard !updates.isEmpty, !trade.price.isNull else { return }
        let book: Int
        if let i = index[header.symbol] {
            book = i
        } else {
            book = books.count
            index[header.symbol] = book
            books.append(SymbolBuckets(symbol: header.symbol, market: header.market, intervals: widths.count))
        }
        let t = header.tsEvent
        var late = false
        for i in 0..<widths.count {
            let width = widths[i]
            let start = t - ((t % width) + width) % width
            guard closedUpTo <= start &+ width &+ revisionWindow else {
                late = true
                continue
            }
            let j = books[book].bucket(i, start: start, closed: start &+ width &+ grace <= closedUpTo)
            books[book].buckets[i][j].add(price: trade.price, size: trade.size, updates: updates, at: t)
            let bucket = books[book].buckets[i][j]
            if bucket.closed && bucket.acc.hasPrices {
                revisions += 1
                try emit(.bar(books[book].bar(bucket, interval: intervals[i], flags: [.local, .revision],
                                              receivedAt: header.tsRecv)))
            }
        }
        if late { lateTrades += 1 }
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
                    let bucket = books[b].buckets[i][j]
                    if bucket.acc.hasPrices {
                        try emit(.bar(books[b].bar(bucket, interval: intervals[i], flags: .local, receivedAt: now)))
                    }
                    j += 1
                }
                books[b].closedCount[i] = j
                books[b].forget(i, endedBefore: now &- revisionWindow, width: widths[i])
            }
        }
    }
}

/// One symbol's buckets: per interval, the open and recently closed ones in start order.
private struct SymbolBuckets: Sendable {
    let symbol: Symbol
    let market: Market
    var buckets: [[Bucket]]
    /// Per interval, how many buckets at the front of the list are closed.
    var closedCount: [Int]

    init(symbol: Symbol, market: Market, intervals: Int) {
        self.symbol = symbol
        self.market = market
        buckets = Array(repeating: [], count: intervals)
        closedCount = Array(repeating: 0, count: intervals)
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

    func bar(_ bucket: Bucket, interval: BarInterval, flags: RecordFlags, receivedAt: Int64) -> Bar {
        let acc = bucket.acc
        return Bar(
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
}
