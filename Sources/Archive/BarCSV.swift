import TickBusCore

/// One row of a bars CSV file: the bar's start (ns since the epoch, UTC) and its OHLCV.
public struct BarRow: Hashable, Sendable {
    public var start: Int64
    public var open: Price
    public var high: Price
    public var low: Price
    public var close: Price
    public var volume: Double

    public init(start: Int64, open: Price, high: Price, low: Price, close: Price, volume: Double) {
        self.start = start
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
    }

    public init(_ bar: Bar) {
        self.init(start: bar.header.tsEvent, open: bar.open, high: bar.high, low: bar.low, close: bar.close,
                  volume: bar.volume)
    }
}

/// The bars CSV of the old OHLCV pipeline, byte for byte:
///
/// ```
/// ts_event,open,high,low,close,volume
/// 2024-01-02 09:30:00+00:00,475.32,475.45,475.28,475.4,15234
/// ```
///
/// Times are the bar's start in UTC, to the second. Prices are written as pandas writes a float
/// column: the shortest exact decimal of the fixed-point price, with `.0` when whole (`475.4`,
/// `475.0`, `0.0001`). Volumes are integers when whole (pandas' int64 column), else the
/// shortest decimal that reads back to the same double (`0.25`).
public enum BarCSV {
    public static let header = "ts_event,open,high,low,close,volume"

    /// Appends one row and its newline.
    public static func append(_ row: BarRow, to out: inout [UInt8]) {
        var time = CSVTimeFormatter()
        append(row, to: &out, time: &time)
    }

    /// Appends one row and its newline, with a formatter that remembers the last date.
    @inline(__always)
    public static func append(_ row: BarRow, to out: inout [UInt8], time: inout CSVTimeFormatter) {
        RowWriter.append(to: &out) { writer in
            writer.time(seconds: row.start.floorDivided(by: 1_000_000_000).0, &time)
            writer.comma()
            writer.price(row.open, wholeAsFloat: true)
            writer.comma()
            writer.price(row.high, wholeAsFloat: true)
            writer.comma()
            writer.price(row.low, wholeAsFloat: true)
            writer.comma()
            writer.price(row.close, wholeAsFloat: true)
            writer.comma()
            writer.size(row.volume)
            writer.byte(UInt8(ascii: "\n"))
        }
    }

    /// The row as text, without the newline.
    public static func line(_ row: BarRow) -> String {
        var out: [UInt8] = []
        append(row, to: &out)
        return String(decoding: out.dropLast(), as: UTF8.self)
    }

    /// `YYYY-MM-DD HH:MM:SS+00:00`.
    public static func appendTime(seconds: Int64, to out: inout [UInt8]) {
        var time = CSVTimeFormatter()
        time.append(seconds: seconds, to: &out)
    }

    /// Remembers the last date parsed, so rows of the same day parse only their time of day.
    public struct DayCache: Sendable {
        var date: (UInt64, UInt16) = (0, 0)
        var day: Int64 = 0
        public init() {}
    }

    /// Parses one row (without its newline). Allocates nothing for ordinary rows.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(BarCSVError) -> BarRow {
        var cache = DayCache()
        return try parse(bytes, cache: &cache)
    }

    /// Parses one row, reusing the date of the row before when it is the same.
    public static func parse(_ bytes: UnsafeRawBufferPointer, cache: inout DayCache) throws(BarCSVError) -> BarRow {
        guard bytes.count >= 26, bytes[25] == UInt8(ascii: ",") else {
            throw .badTime("expected YYYY-MM-DD HH:MM:SS+00:00 then a comma")
        }
        let start = try parseTime(UnsafeRawBufferPointer(rebasing: bytes[0..<25]), cache: &cache)
        var prices = (Price.null, Price.null, Price.null, Price.null)
        var fieldStart = 26
        var field = 0
        var volume = 0.0
        var i = 26
        while true {
            guard i == bytes.count || bytes[i] == UInt8(ascii: ",") else {
                i += 1
                continue
            }
            guard field < 5 else { throw .fieldCount(field + 2 + bytes[i...].count { $0 == UInt8(ascii: ",") }) }
            let text = UnsafeRawBufferPointer(rebasing: bytes[fieldStart..<i])
            let name = BarCSV.fields[field + 1]
            guard !text.isEmpty else { throw .empty(name) }
            if field < 4 {
                let price: Price
                if let quick = quickPrice(text) {
                    price = quick
                } else {
                    do {
                        price = try Price(ascii: text)
                    } catch {
                        let string = String(decoding: text, as: UTF8.self)
                        throw error == .outOfRange ? .outOfRange(name, string) : .badNumber(name, string)
                    }
                }
                switch field {
                case 0: prices.0 = price
                case 1: prices.1 = price
                case 2: prices.2 = price
                default: prices.3 = price
                }
            } else {
                volume = try parseVolume(text)
            }
            field += 1
            if i == bytes.count { break }
            i += 1
            fieldStart = i
        }
        guard field == 5 else { throw .fieldCount(field + 1) }
        return BarRow(start: start, open: prices.0, high: prices.1, low: prices.2, close: prices.3, volume: volume)
    }

    /// `123.45`-style prices (digits, at most one point, at most nine decimals) without the
    /// general parser; nil for anything else, and for a price out of range (which the general
    /// parser then names).
    @inline(__always)
    static func quickPrice(_ text: UnsafeRawBufferPointer) -> Price? {
        guard text.count <= 18 else { return nil }
        var whole: Int64 = 0, fraction: Int64 = 0, decimals = -1
        for byte in text {
            let d = byte &- UInt8(ascii: "0")
            if d < 10 {
                if decimals < 0 { whole = whole * 10 + Int64(d) } else { fraction = fraction * 10 + Int64(d); decimals += 1 }
            } else if byte == UInt8(ascii: "."), decimals < 0 {
                decimals = 0
            } else {
                return nil
            }
        }
        guard decimals <= 9, decimals != 0 || text.count > 1 else { return nil }
        var scale: Int64 = 1
        for _ in 0..<max(0, 9 - max(decimals, 0)) { scale *= 10 }
        let (units, overflow) = whole.multipliedReportingOverflow(by: Price.scale)
        let (raw, carry) = units.addingReportingOverflow(fraction * (decimals > 0 ? scale : 0))
        return overflow || carry ? nil : Price(raw: raw)
    }

    /// The column names, in order.
    public static let fields = ["ts_event", "open", "high", "low", "close", "volume"]

    /// Digits only (the usual case) without allocating; anything else through `Double`.
    static func parseVolume(_ text: UnsafeRawBufferPointer) throws(BarCSVError) -> Double {
        if text.count <= 15 {
            var value: Int64 = 0
            var digits = true
            for byte in text {
                let d = byte &- UInt8(ascii: "0")
                guard d < 10 else { digits = false; break }
                value = value * 10 + Int64(d)
            }
            if digits { return Double(value) }
        }
        let string = String(decoding: text, as: UTF8.self)
        guard let value = Double(string), value.isFinite else { throw .badNumber("volume", string) }
        return value
    }

    /// `YYYY-MM-DD HH:MM:SS+00:00` in ns since the epoch.
    public static func parseTime(_ b: UnsafeRawBufferPointer) throws(BarCSVError) -> Int64 {
        var cache = DayCache()
        return try parseTime(b, cache: &cache)
    }

    static func parseTime(_ b: UnsafeRawBufferPointer, cache: inout DayCache) throws(BarCSVError) -> Int64 {
        func digits(_ range: Range<Int>) throws(BarCSVError) -> Int64 {
            var value: Int64 = 0
            for i in range {
                let d = b[i] &- UInt8(ascii: "0")
                guard d < 10 else { throw .badTime("not a digit at column \(i + 1)") }
                value = value * 10 + Int64(d)
            }
            return value
        }
        guard b.count == 25, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: " "),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":")
        else { throw .badTime("expected YYYY-MM-DD HH:MM:SS+00:00") }
        guard b[19] == UInt8(ascii: "+"), b[20] == UInt8(ascii: "0"), b[21] == UInt8(ascii: "0"), b[22] == UInt8(ascii: ":"),
              b[23] == UInt8(ascii: "0"), b[24] == UInt8(ascii: "0")
        else { throw .notUTC }
        let hour = try digits(11..<13), minute = try digits(14..<16), second = try digits(17..<19)
        guard hour < 24, minute < 60, second < 60 else { throw .badTime("no such date or time") }
        let date = (b.loadUnaligned(as: UInt64.self), b.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
        if date != cache.date || cache.date.0 == 0 {
            let year = try digits(0..<4), month = try digits(5..<7), day = try digits(8..<10)
            guard (1...12).contains(month), day >= 1, day <= UTCTime.daysIn(month: month, year: year) else {
                throw .badTime("no such date or time")
            }
            cache.date = date
            cache.day = UTCTime.daysSinceEpoch(year: year, month: month, day: day)
        }
        let (ns, overflow) = (cache.day * 86_400 + hour * 3600 + minute * 60 + second).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { throw .badTime("out of range: 64-bit ns hold 1677-09-21 to 2262-04-11") }
        return ns
    }
}

/// Why a bars CSV row is refused.
public enum BarCSVError: Error, Equatable, Sendable, CustomStringConvertible {
    case badTime(String)
    case notUTC
    case fieldCount(Int)
    case empty(String)
    case badNumber(String, String)
    case outOfRange(String, String)

    public var description: String {
        switch self {
        case .badTime(let why): "bad ts_event: \(why)"
        case .notUTC: "ts_event is not in UTC (+00:00)"
        case .fieldCount(let n): "\(n) fields; a row has 6 (ts_event,open,high,low,close,volume)"
        case .empty(let field): "\(field) is empty"
        case .badNumber(let field, let text): "\(field) \"\(text.prefix(40))\" is not a number"
        case .outOfRange(let field, let text): "\(field) \"\(text.prefix(40))\" is out of range (|price| below 9.2e9)"
        }
    }
}
