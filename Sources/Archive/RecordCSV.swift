import TickBusCore

/// The CSV rows `tickbus archive` writes for trades and quotes (bars use ``BarCSV``).
///
/// ```
/// ts_event,price,size,exchange,tape,conditions,sequence,trade_id,ts_recv
/// 2024-01-02 09:30:00.123000000+00:00,475.4,100,4,3,12 37,5123,52983525029461,2024-01-02 09:30:00.123456789+00:00
/// ts_event,bid_price,bid_size,ask_price,ask_size,bid_exchange,ask_exchange,condition,tape,sequence,ts_recv
/// 2024-01-02 09:30:00.123000000+00:00,475.39,200,475.41,100,11,12,1,3,7741,2024-01-02 09:30:00.123456789+00:00
/// ```
///
/// Times are UTC with nine decimals (pandas: `pd.read_csv(f, parse_dates=["ts_event","ts_recv"])`);
/// prices the shortest exact decimal; sizes integers when whole; condition codes separated by
/// spaces; a null price (a one-sided quote) an empty field. `ts_recv` is last, so two rows for
/// the same event that differ only in when tickbus received them are recognised as one.
public enum RecordCSV {
    public static let tradeHeader = "ts_event,price,size,exchange,tape,conditions,sequence,trade_id,ts_recv"
    public static let quoteHeader =
        "ts_event,bid_price,bid_size,ask_price,ask_size,bid_exchange,ask_exchange,condition,tape,sequence,ts_recv"

    /// Appends one trade row and its newline.
    public static func append(_ trade: Trade, to out: inout [UInt8]) {
        var time = CSVTimeFormatter()
        append(trade, to: &out, time: &time)
    }

    /// Appends one trade row and its newline, with a formatter that remembers the last date.
    public static func append(_ trade: Trade, to out: inout [UInt8], time: inout CSVTimeFormatter) {
        RowWriter.append(to: &out) { row in
            row.time(trade.header.tsEvent, &time)
            row.comma()
            row.price(trade.price)
            row.comma()
            row.size(trade.size)
            row.comma()
            row.integer(Int64(trade.exchange))
            row.comma()
            row.integer(Int64(trade.tape))
            row.comma()
            for i in 0..<trade.conditions.count {
                if i > 0 { row.byte(UInt8(ascii: " ")) }
                row.integer(Int64(trade.conditions[i]))
            }
            row.comma()
            row.integer(trade.upstreamSequence)
            row.comma()
            row.fixed(trade.tradeID)
            row.comma()
            row.time(trade.header.tsRecv, &time)
            row.byte(UInt8(ascii: "\n"))
        }
    }

    /// Appends one quote row and its newline.
    public static func append(_ quote: Quote, to out: inout [UInt8]) {
        var time = CSVTimeFormatter()
        append(quote, to: &out, time: &time)
    }

    /// Appends one quote row and its newline, with a formatter that remembers the last date.
    public static func append(_ quote: Quote, to out: inout [UInt8], time: inout CSVTimeFormatter) {
        RowWriter.append(to: &out) { row in
            row.time(quote.header.tsEvent, &time)
            row.comma()
            row.price(quote.bidPrice)
            row.comma()
            row.size(quote.bidSize)
            row.comma()
            row.price(quote.askPrice)
            row.comma()
            row.size(quote.askSize)
            row.comma()
            row.integer(Int64(quote.bidExchange))
            row.comma()
            row.integer(Int64(quote.askExchange))
            row.comma()
            row.integer(Int64(quote.condition))
            row.comma()
            row.integer(Int64(quote.tape))
            row.comma()
            row.integer(quote.upstreamSequence)
            row.comma()
            row.time(quote.header.tsRecv, &time)
            row.byte(UInt8(ascii: "\n"))
        }
    }

    /// Parses the leading time of a row: `YYYY-MM-DD HH:MM:SS+00:00`, optionally with a fraction
    /// of 1–9 digits after the seconds. Returns ns since the epoch, or nil.
    public static func parseTime(_ line: UnsafeRawBufferPointer) -> Int64? {
        guard line.count >= 25 else { return nil }
        var fraction: Int64 = 0
        var end = 19
        if line[19] == UInt8(ascii: ".") {
            var digits = 0
            end = 20
            while end < line.count, line[end] &- UInt8(ascii: "0") < 10 {
                fraction = fraction * 10 + Int64(line[end] &- UInt8(ascii: "0"))
                digits += 1
                end += 1
            }
            guard (1...9).contains(digits) else { return nil }
            for _ in digits..<9 { fraction *= 10 }
        }
        guard end + 6 <= line.count else { return nil }
        var stamp = Array(line[0..<19])
        stamp.append(contentsOf: line[end..<(end + 6)])
        let seconds = stamp.withUnsafeBytes { try? BarCSV.parseTime($0) }
        return seconds.map { $0 + fraction }
    }

    static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        RowWriter.append(to: &out) { $0.integer(value) }
    }
}

/// A CSV row formatted into a scratch buffer on the stack and appended in one copy.
struct RowWriter {
    private let base: UnsafeMutableRawPointer
    private var n = 0

    /// The longest row: two times, three prices, sizes, counters and a quoted 24-byte id fit.
    private static let capacity = 512

    private init(_ base: UnsafeMutableRawPointer) { self.base = base }

    @inline(__always)
    static func append(to out: inout [UInt8], _ build: (inout RowWriter) -> Void) {
        withUnsafeTemporaryAllocation(byteCount: capacity, alignment: 8) { buffer in
            var row = RowWriter(buffer.baseAddress!)
            build(&row)
            out.append(contentsOf: UnsafeRawBufferPointer(start: buffer.baseAddress!, count: row.n))
        }
    }

    @inline(__always)
    mutating func byte(_ b: UInt8) {
        base.storeBytes(of: b, toByteOffset: n, as: UInt8.self)
        n += 1
    }

    @inline(__always)
    mutating func comma() { byte(UInt8(ascii: ",")) }

    @inline(__always)
    mutating func time(_ nanoseconds: Int64, _ formatter: inout CSVTimeFormatter) {
        n += formatter.write(nanoseconds: nanoseconds, into: base + n)
    }

    @inline(__always)
    mutating func time(seconds: Int64, _ formatter: inout CSVTimeFormatter) {
        n += formatter.write(seconds: seconds, into: base + n)
    }

    @inline(__always)
    mutating func integer(_ value: Int64) {
        if value < 0 { byte(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits = 1
        var scan = magnitude
        while scan >= 10 {
            scan /= 10
            digits += 1
        }
        for i in stride(from: digits - 1, through: 0, by: -1) {
            base.storeBytes(of: UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10), toByteOffset: n + i, as: UInt8.self)
            magnitude /= 10
        }
        n += digits
    }

    /// The shortest exact decimal; nothing for the null price.
    @inline(__always)
    mutating func price(_ price: Price) {
        guard !price.isNull else { return }
        n += price.write(into: UnsafeMutableRawBufferPointer(start: base + n, count: 32))
    }

    /// A bars CSV price: as pandas writes a float64 column (``PandasFloat``) when `float` or
    /// when it is not whole, else as an integer.
    @inline(__always)
    mutating func price(_ price: Price, float: Bool) {
        if float || price.raw % Price.scale != 0 {
            n += PandasFloat.write(price, into: base + n)
        } else {
            integer(price.raw / Price.scale)
        }
    }

    /// A double as pandas writes a float64 column (``PandasFloat``).
    @inline(__always)
    mutating func float(_ value: Double) {
        n += PandasFloat.write(value, into: base + n)
    }

    /// An integer when whole, else the shortest decimal that reads back the same.
    @inline(__always)
    mutating func size(_ size: Double) {
        if size.rounded() == size, abs(size) < 1e15 {
            integer(Int64(size))
        } else if size.isFinite {
            for b in String(size).utf8 { byte(b) }
        }
    }

    /// A fixed string (printable ASCII, no spaces), CSV-quoted when it holds a comma or a quote.
    mutating func fixed(_ text: FixedString) {
        let count = text.write(into: UnsafeMutableRawBufferPointer(start: base + n, count: FixedString.capacity), at: 0)
        let bytes = UnsafeRawBufferPointer(start: base + n, count: count)
        guard bytes.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") }) else {
            n += count
            return
        }
        let copy = Array(bytes)
        byte(UInt8(ascii: "\""))
        for b in copy {
            byte(b)
            if b == UInt8(ascii: "\"") { byte(b) }
        }
        byte(UInt8(ascii: "\""))
    }
}
