/// The numeric columns of a bars CSV that pandas holds as float64; the others are int64.
///
/// `read_csv` types a column by its text in the whole file: int64 when every value is an
/// integer (`612000`, `-3`), float64 as soon as one has a point or an exponent (`1969.0`,
/// `1.37e+03`). `to_csv` then writes each column by its type: an int64 column as integers, a
/// float64 column as Python's `repr` of each value (``PandasFloat``), so one fractional volume
/// makes every volume of the month `1000.0`.
public struct BarColumns: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let open = BarColumns(rawValue: 1 << 0)
    public static let high = BarColumns(rawValue: 1 << 1)
    public static let low = BarColumns(rawValue: 1 << 2)
    public static let close = BarColumns(rawValue: 1 << 3)
    public static let volume = BarColumns(rawValue: 1 << 4)
    public static let prices: BarColumns = [.open, .high, .low, .close]

    /// The column of field `index` (0 = open … 4 = volume).
    @inline(__always)
    public static func field(_ index: Int) -> BarColumns { BarColumns(rawValue: 1 << UInt8(index)) }

    /// The types `resample(...).agg(first, max, min, last, sum)` gives: prices stay int64 only
    /// while no bucket between the first and the last is empty (an empty bucket is NaN, which
    /// makes the column float64 before `dropna` removes the row); the volume sum keeps its type.
    public func resampled(withEmptyBuckets: Bool) -> BarColumns {
        withEmptyBuckets ? union(.prices) : self
    }
}
