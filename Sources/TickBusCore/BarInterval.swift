/// A bar's length in whole seconds, with its topic label (`1s`, `15s`, `1m`, `1h`, `1d`).
public struct BarInterval: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let seconds: UInt32

    /// Fails unless `seconds` is positive.
    public init(seconds: UInt32) throws(RecordError) {
        guard seconds > 0 else { throw .invalidInterval(Int64(seconds)) }
        self.seconds = seconds
    }

    private init(unchecked seconds: UInt32) { self.seconds = seconds }

    public static let second = BarInterval(unchecked: 1)
    public static let minute = BarInterval(unchecked: 60)
    public static let hour = BarInterval(unchecked: 3600)
    public static let day = BarInterval(unchecked: 86400)

    /// The labels `tickbus bars` builds.
    public static let standard: [BarInterval] = [1, 5, 15, 30, 60, 300, 900, 1800, 3600, 86400]
        .map { BarInterval(unchecked: $0) }

    /// The interval in nanoseconds.
    public var nanoseconds: Int64 { Int64(seconds) * 1_000_000_000 }

    /// The topic label: the largest whole unit of `d`, `h`, `m`, `s` (`90` → `90s`, `120` → `2m`).
    public var label: String {
        String(unsafeUninitializedCapacity: BarInterval.maxLabelSize) { writeLabel(into: UnsafeMutableRawBufferPointer($0), at: 0) }
    }

    /// The longest label: `4294967295s`.
    static let maxLabelSize = 11

    /// Writes the topic label at `offset` and returns its length: the one place labels are made.
    @inline(__always)
    func writeLabel(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var value = seconds
        var unit = UInt8(ascii: "s")
        if seconds % 86400 == 0 { value = seconds / 86400; unit = UInt8(ascii: "d") }
        else if seconds % 3600 == 0 { value = seconds / 3600; unit = UInt8(ascii: "h") }
        else if seconds % 60 == 0 { value = seconds / 60; unit = UInt8(ascii: "m") }
        let n = writeDecimal(UInt64(value), into: buffer, at: offset)
        buffer[offset + n] = unit
        return n + 1
    }

    public var description: String { label }

    /// Parses a label such as `15s`, `1m`, `1min`, `4h` or `1d`.
    public init?(label: some StringProtocol) {
        let digits = label.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 10, let count = UInt32(digits), count > 0 else { return nil }
        let unit: UInt32
        switch label.dropFirst(digits.count) {
        case "s": unit = 1
        case "m", "min": unit = 60
        case "h": unit = 3600
        case "d": unit = 86400
        default: return nil
        }
        let (total, overflow) = count.multipliedReportingOverflow(by: unit)
        guard !overflow else { return nil }
        self.init(unchecked: total)
    }

    public static func < (lhs: BarInterval, rhs: BarInterval) -> Bool { lhs.seconds < rhs.seconds }
}
