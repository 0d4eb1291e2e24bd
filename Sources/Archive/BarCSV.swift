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

/// A volume as its column holds it.
public enum BarVolume: Hashable, Sendable {
    case integer(Int64)
    case float(Double)
}

/// One row as read, with how each number is written (pandas types a column by its text).
public struct BarLine: Hashable, Sendable {
    public var row: BarRow
    /// The fields written with a point or an exponent.
    public var floats: BarColumns
    /// The volume exactly as read: an integer beyond 2^53 stays exact here.
    public var volume: BarVolume
}

/// The bars CSV of the old OHLCV pipeline, byte for byte:
///
/// ```
/// ts_event,open,high,low,close,volume
/// 2024-01-02 09:30:00+00:00,475.32,475.45,475.28,475.4,15234
/// ```
///
/// Times are the bar's start in UTC, to the second. Each numeric column is written as pandas'
/// `to_csv` writes its type (``BarColumns``): a float64 column as Python's `repr` of the double
/// nearest each value (`475.4`, `475.0`, `2.344e-05`), an int64 column as integers.
public enum BarCSV {
    public static let header = "ts_event,open,high,low,close,volume"

    /// The columns tickbus writes as floats by default: the prices.
    public static let defaultColumns = BarColumns.prices

    /// Appends one row and its newline, prices as floats and volumes as integers when whole.
    public static func append(_ row: BarRow, to out: inout [UInt8]) {
        var time = CSVTimeFormatter()
        append(row, columns: defaultColumns, to: &out, time: &time)
    }

    /// Appends one row and its newline with the given float columns, with a formatter that
    /// remembers the last date. A fractional volume in an integer column is written as a
    /// float: pandas then reads the whole column as float64.
    @inline(__always)
    public static func append(_ row: BarRow, columns: BarColumns, to out: inout [UInt8], time: inout CSVTimeFormatter) {
        let volume: BarVolume = !columns.contains(.volume) && row.volume.rounded(.towardZero) == row.volume
            && row.volume.magnitude < 9.2e18 ? .integer(Int64(row.volume)) : .float(row.volume)
        append(start: row.start, open: row.open, high: row.high, low: row.low, close: row.close, volume: volume,
               columns: columns, to: &out, time: &time)
    }

    /// Appends one row and its newline: prices in `columns` as floats, the others as integers
    /// (a price that is not whole is a float whatever the column).
    @inline(__always)
    public static func append(
        start: Int64, open: Price, high: Price, low: Price, close: Price, volume: BarVolume, columns: BarColumns,
        to out: inout [UInt8], time: inout CSVTimeFormatter
    ) {
        RowWriter.append(to: &out) { writer in
            writer.time(seconds: start.floorDivided(by: 1_000_000_000).0, &time)
            writer.comma()
            writer.price(open, float: columns.contains(.open))
            writer.comma()
            writer.price(high, float: columns.contains(.high))
            writer.comma()
            writer.price(low, float: columns.contains(.low))
            writer.comma()
            writer.price(close, float: columns.contains(.close))
            writer.comma()
            switch volume {
            case .integer(let value): writer.integer(value)
            case .float(let value): writer.float(value)
            }
            writer.byte(UInt8(ascii: "\n"))
        }
    }

    /// The row as text, without the newline.
    public static func line(_ row: BarRow) -> String {
        var out: [UInt8] = []
        append(row, to: &out)
        return String(decoding: out.dropLast(), as: UTF8.self)
    }

    /// Checks the first line of a file: the header, and says so when a byte order mark precedes it.
    public static func checkHeader(_ line: UnsafeRawBufferPointer) throws(BarCSVError) {
        guard !line.elementsEqual(header.utf8) else { return }
        throw line.starts(with: [0xEF, 0xBB, 0xBF]) ? .byteOrderMark : .header
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
        return try parseLine(bytes, cache: &cache).row
    }

    /// Parses one row, reusing the date of the row before when it is the same.
    public static func parse(_ bytes: UnsafeRawBufferPointer, cache: inout DayCache) throws(BarCSVError) -> BarRow {
        try parseLine(bytes, cache: &cache).row
    }

    /// Parses one row with how its numbers are written. Refuses what tickbus cannot give back
    /// as pandas would: prices with more than nine decimals, a negative zero written as a
    /// float, integers beyond int64, `NaN` and infinities.
    public static func parseLine(_ bytes: UnsafeRawBufferPointer, cache: inout DayCache) throws(BarCSVError) -> BarLine {
        guard bytes.count >= 26, bytes[25] == UInt8(ascii: ",") else {
            throw .badTime("expected YYYY-MM-DD HH:MM:SS+00:00 then a comma")
        }
        let start = try parseTime(UnsafeRawBufferPointer(rebasing: bytes[0..<25]), cache: &cache)
        var prices = (Price.null, Price.null, Price.null, Price.null)
        var floats: BarColumns = []
        var fieldStart = 26
        var field = 0
        var volume = BarVolume.integer(0)
        var i = 26
        while true {
            guard i == bytes.count || bytes[i] == UInt8(ascii: ",") else {
                i += 1
                continue
            }
            guard field < 5 else { throw .fieldCount(field + 2 + bytes[i...].count { $0 == UInt8(ascii: ",") }) }
            let text = UnsafeRawBufferPointer(rebasing: bytes[fieldStart..<i])
            guard !text.isEmpty else { throw .empty(BarCSV.fields[field + 1]) }
            if field < 4 {
                let price: Price, isFloat: Bool
                if let quick = quickPrice(text) { (price, isFloat) = quick } else {
                    (price, isFloat) = try parsePrice(text, BarCSV.fields[field + 1])
                }
                if isFloat { floats.insert(.field(field)) }
                switch field {
                case 0: prices.0 = price
                case 1: prices.1 = price
                case 2: prices.2 = price
                default: prices.3 = price
                }
            } else {
                volume = try parseVolume(text)
                if case .float = volume { floats.insert(.volume) }
            }
            field += 1
            if i == bytes.count { break }
            i += 1
            fieldStart = i
        }
        guard field == 5 else { throw .fieldCount(field + 1) }
        let double = switch volume {
        case .integer(let value): Double(value)
        case .float(let value): value
        }
        return BarLine(row: BarRow(start: start, open: prices.0, high: prices.1, low: prices.2, close: prices.3, volume: double),
                       floats: floats, volume: volume)
    }

    /// `123.45`-style prices (digits, at most one point, at most nine decimals) without the
    /// general parser, with whether they have a point; nil for anything else, and for a price
    /// out of range (which the general parser then names).
    @inline(__always)
    static func quickPrice(_ text: UnsafeRawBufferPointer) -> (Price, Bool)? {
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
        return overflow || carry ? nil : (Price(raw: raw), decimals >= 0)
    }

    /// Any price pandas reads as a number, exactly in 1e-9 units, with whether it is a float
    /// (what ``quickPrice(_:)`` leaves).
    static func parsePrice(_ text: UnsafeRawBufferPointer, _ name: String) throws(BarCSVError) -> (Price, Bool) {
        guard let token = DecimalToken(text) else { throw .badNumber(name, String(decoding: text, as: UTF8.self)) }
        let string = { String(decoding: text, as: UTF8.self) }
        if token.negative, token.digits == 0, token.isFloat { throw .negativeZero(name, string()) }
        let shift = token.exponent + 9
        var magnitude = token.digits
        if token.digits == 0 {
            magnitude = 0
        } else if shift >= 0 {
            guard shift <= 18, !token.lost else { throw .outOfRange(name, string()) }
            let (product, overflow) = magnitude.multipliedReportingOverflow(by: pow10(shift))
            guard !overflow, product <= UInt64(Int64.max) else { throw .outOfRange(name, string()) }
            magnitude = product
        } else {
            guard -shift <= 19, !token.lost, magnitude % pow10(-shift) == 0 else { throw .tooPrecise(name, string()) }
            magnitude /= pow10(-shift)
        }
        guard magnitude <= UInt64(Int64.max) else { throw .outOfRange(name, string()) }
        return (Price(raw: token.negative ? -Int64(magnitude) : Int64(magnitude)), token.isFloat)
    }

    @inline(__always)
    private static func pow10(_ n: Int) -> UInt64 {
        var value: UInt64 = 1
        for _ in 0..<n { value &*= 10 }
        return value
    }

    /// The column names, in order.
    public static let fields = ["ts_event", "open", "high", "low", "close", "volume"]

    /// Digits only (the usual case) without allocating; otherwise an int64 for an integer and
    /// the double nearest the text for a float, as pandas reads them.
    static func parseVolume(_ text: UnsafeRawBufferPointer) throws(BarCSVError) -> BarVolume {
        if text.count <= 18 {
            var value: Int64 = 0
            var digits = true
            for byte in text {
                let d = byte &- UInt8(ascii: "0")
                guard d < 10 else { digits = false; break }
                value = value * 10 + Int64(d)
            }
            if digits { return .integer(value) }
        }
        let string = { String(decoding: text, as: UTF8.self) }
        guard let token = DecimalToken(text) else { throw .badNumber("volume", string()) }
        guard token.isFloat else {
            var magnitude = token.digits
            for _ in 0..<token.exponent {
                let (product, overflow) = magnitude.multipliedReportingOverflow(by: 10)
                guard !overflow else { throw .outOfRange("volume", string()) }
                magnitude = product
            }
            guard !token.lost, magnitude <= UInt64(Int64.max) else { throw .outOfRange("volume", string()) }
            return .integer(token.negative ? -Int64(magnitude) : Int64(magnitude))
        }
        let value: Double
        if !token.lost, token.digits <= 1 << 53, token.exponent.magnitude <= 22 {
            // Both exact, so one correctly rounded operation: what pandas' parser gives.
            let exact = Double(token.digits), scale = pow10Double(token.exponent.magnitude)
            value = token.exponent < 0 ? exact / scale : exact * scale
        } else {
            guard let parsed = Double(string()) else { throw .badNumber("volume", string()) }
            value = parsed.magnitude
        }
        guard value.isFinite else { throw .outOfRange("volume", string()) }
        return .float(token.negative ? -value : value)
    }

    @inline(__always)
    private static func pow10Double(_ n: UInt) -> Double {
        var value = 1.0
        for _ in 0..<n { value *= 10 }
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
    case tooPrecise(String, String)
    case negativeZero(String, String)
    case header
    case byteOrderMark

    public var description: String {
        switch self {
        case .badTime(let why): "bad ts_event: \(why)"
        case .notUTC: "ts_event is not in UTC (+00:00)"
        case .fieldCount(let n): "\(n) fields; a row has 6 (ts_event,open,high,low,close,volume)"
        case .empty(let field): "\(field) is empty"
        case .badNumber(let field, let text): "\(field) \"\(text.prefix(40))\" is not a number"
        case .outOfRange(let field, let text):
            "\(field) \"\(text.prefix(40))\" is out of range (\(field == "volume" ? "integers within int64, floats finite" : "|price| below 9.2e9"))"
        case .tooPrecise(let field, let text):
            "\(field) \"\(text.prefix(40))\" has more than 9 decimals: tickbus keeps prices in 1e-9 units and would round it"
        case .negativeZero(let field, let text): "\(field) \"\(text.prefix(40))\" is a negative zero, which tickbus cannot write back"
        case .header: "header is not \(BarCSV.header)"
        case .byteOrderMark: "the file starts with a UTF-8 byte order mark (EF BB BF): save it without one; the header must be \(BarCSV.header)"
        }
    }
}
