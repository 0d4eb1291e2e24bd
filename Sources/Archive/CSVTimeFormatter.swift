import TickBusCore

/// Writes UTC times as CSV rows carry them, `YYYY-MM-DD HH:MM:SS+00:00` or with nine decimals
/// `YYYY-MM-DD HH:MM:SS.nnnnnnnnn+00:00`, remembering the last day's date so a row costs a few
/// divisions and one append.
public struct CSVTimeFormatter: Sendable {
    private var day = Int64.min
    private var date: (UInt64, UInt16) = (0, 0)

    public init() {}

    /// Appends the time to the second.
    @inline(__always)
    public mutating func append(seconds: Int64, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(byteCount: 40, alignment: 8) { buffer in
            let n = write(seconds: seconds, into: buffer.baseAddress!)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        }
    }

    /// Appends the time with its nanoseconds.
    @inline(__always)
    public mutating func append(nanoseconds: Int64, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(byteCount: 40, alignment: 8) { buffer in
            let n = write(nanoseconds: nanoseconds, into: buffer.baseAddress!)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        }
    }

    /// Writes the time with its nanoseconds (35 bytes) at `base`; returns the count.
    @inline(__always)
    mutating func write(nanoseconds: Int64, into base: UnsafeMutableRawPointer) -> Int {
        let (seconds, fraction) = nanoseconds.floorDivided(by: 1_000_000_000)
        return write(seconds: seconds, fraction: fraction, into: base)
    }

    /// Writes the time to the second (25 bytes) at `base`; returns the count.
    @inline(__always)
    mutating func write(seconds: Int64, into base: UnsafeMutableRawPointer) -> Int {
        write(seconds: seconds, fraction: -1, into: base)
    }

    /// Writes the time (25 bytes, or 35 with a fraction ≥ 0) at `base`; returns the count.
    private mutating func write(seconds: Int64, fraction: Int64, into base: UnsafeMutableRawPointer) -> Int {
        let (days, second) = seconds.floorDivided(by: 86_400)
        if days != day { remember(days) }
        let buffer = UnsafeMutableRawBufferPointer(start: base, count: 40)
        buffer.storeBytes(of: date.0, toByteOffset: 0, as: UInt64.self)
        buffer.storeBytes(of: date.1, toByteOffset: 8, as: UInt16.self)
        buffer[10] = UInt8(ascii: " ")
        Self.two(second / 3600, buffer, 11)
        buffer[13] = UInt8(ascii: ":")
        Self.two(second / 60 % 60, buffer, 14)
        buffer[16] = UInt8(ascii: ":")
        Self.two(second % 60, buffer, 17)
        var n = 19
        if fraction >= 0 {
            buffer[19] = UInt8(ascii: ".")
            var rest = fraction
            for i in stride(from: 28, through: 20, by: -1) {
                buffer[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            }
            n = 29
        }
        for byte in "+00:00".utf8 {
            buffer[n] = byte
            n += 1
        }
        return n
    }

    @inline(__always)
    private static func two(_ n: Int64, _ buffer: UnsafeMutableRawBufferPointer, _ at: Int) {
        buffer[at] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: n / 10)
        buffer[at + 1] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: n % 10)
    }

    private mutating func remember(_ days: Int64) {
        let (year, month, dayOfMonth) = UTCTime.civilDate(daysSinceEpoch: days)
        var text = [UInt8](repeating: 0, count: 10)
        text.withUnsafeMutableBytes { buffer in
            Self.two(year / 100, buffer, 0)
            Self.two(year % 100, buffer, 2)
            buffer[4] = UInt8(ascii: "-")
            Self.two(month, buffer, 5)
            buffer[7] = UInt8(ascii: "-")
            Self.two(dayOfMonth, buffer, 8)
            date = (buffer.loadUnaligned(as: UInt64.self), buffer.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
        }
        day = days
    }
}
