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
        time.append(nanoseconds: trade.header.tsEvent, to: &out)
        comma(&out)
        appendPrice(trade.price, to: &out)
        comma(&out)
        appendSize(trade.size, to: &out)
        comma(&out)
        appendInteger(Int64(trade.exchange), to: &out)
        comma(&out)
        appendInteger(Int64(trade.tape), to: &out)
        comma(&out)
        for i in 0..<trade.conditions.count {
            if i > 0 { out.append(UInt8(ascii: " ")) }
            appendInteger(Int64(trade.conditions[i]), to: &out)
        }
        comma(&out)
        appendInteger(trade.upstreamSequence, to: &out)
        comma(&out)
        appendFixed(trade.tradeID, to: &out)
        comma(&out)
        time.append(nanoseconds: trade.header.tsRecv, to: &out)
        out.append(UInt8(ascii: "\n"))
    }

    /// Appends one quote row and its newline.
    public static func append(_ quote: Quote, to out: inout [UInt8]) {
        var time = CSVTimeFormatter()
        append(quote, to: &out, time: &time)
    }

    /// Appends one quote row and its newline, with a formatter that remembers the last date.
    public static func append(_ quote: Quote, to out: inout [UInt8], time: inout CSVTimeFormatter) {
        time.append(nanoseconds: quote.header.tsEvent, to: &out)
        comma(&out)
        appendPrice(quote.bidPrice, to: &out)
        comma(&out)
        appendSize(quote.bidSize, to: &out)
        comma(&out)
        appendPrice(quote.askPrice, to: &out)
        comma(&out)
        appendSize(quote.askSize, to: &out)
        comma(&out)
        appendInteger(Int64(quote.bidExchange), to: &out)
        comma(&out)
        appendInteger(Int64(quote.askExchange), to: &out)
        comma(&out)
        appendInteger(Int64(quote.condition), to: &out)
        comma(&out)
        appendInteger(Int64(quote.tape), to: &out)
        comma(&out)
        appendInteger(quote.upstreamSequence, to: &out)
        comma(&out)
        time.append(nanoseconds: quote.header.tsRecv, to: &out)
        out.append(UInt8(ascii: "\n"))
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

    @inline(__always)
    static func comma(_ out: inout [UInt8]) { out.append(UInt8(ascii: ",")) }

    /// A price as its shortest exact decimal; nothing for the null price.
    static func appendPrice(_ price: Price, to out: inout [UInt8]) {
        guard !price.isNull else { return }
        withUnsafeTemporaryAllocation(byteCount: 32, alignment: 1) { buffer in
            let count = price.write(into: buffer)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
    }

    /// A size as an integer when whole, else the shortest decimal that reads back the same.
    static func appendSize(_ size: Double, to out: inout [UInt8]) {
        if size.rounded() == size, abs(size) < 1e15 {
            appendInteger(Int64(size), to: &out)
        } else if size.isFinite {
            out.append(contentsOf: String(size).utf8)
        }
    }

    static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var n = 0
            repeat {
                digits[n] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                n += 1
            } while magnitude > 0
            while n > 0 {
                n -= 1
                out.append(digits[n])
            }
        }
    }

    /// A fixed string's bytes (printable ASCII, no spaces), quoted as CSV when it holds a comma
    /// or a double quote.
    static func appendFixed(_ text: FixedString, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(byteCount: FixedString.capacity, alignment: 8) { buffer in
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[..<text.write(into: buffer, at: 0)])
            guard bytes.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") }) else {
                return out.append(contentsOf: bytes)
            }
            out.append(UInt8(ascii: "\""))
            for byte in bytes {
                out.append(byte)
                if byte == UInt8(ascii: "\"") { out.append(byte) }
            }
            out.append(UInt8(ascii: "\""))
        }
    }
}
