/// A value with a fixed little-endian form inside a record.
protocol WireValue {
    /// Writes the value's bytes at `offset`.
    func store(into buffer: UnsafeMutableRawBufferPointer, at offset: Int)
    /// Reads a value at `offset`; throws ``WireError/badField(_:)`` naming `field` when the
    /// bytes are not a valid value.
    static func load(from bytes: UnsafeRawBufferPointer, at offset: Int, field: StaticString) throws(WireError) -> Self
}

/// A field of a record layout: its value type and byte offset (declared in wire/records.json).
struct Field<Value: WireValue> {
    let offset: Int
    /// What ``WireError/badField(_:)`` calls it.
    let name: StaticString

    @inline(__always)
    func store(_ value: Value, into buffer: UnsafeMutableRawBufferPointer) {
        value.store(into: buffer, at: offset)
    }

    @inline(__always)
    func load(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> Value {
        try Value.load(from: bytes, at: offset, field: name)
    }
}

extension Field where Value: FixedWidthInteger {
    /// `value` moved to this field's bytes within the little-endian eight-byte word at `word`,
    /// for writing several small fields with one store.
    @inline(__always)
    func inWord(_ value: Value, at word: Int) -> UInt64 {
        UInt64(truncatingIfNeeded: value) << UInt64(8 * (offset - word))
    }

    /// This field's value out of the little-endian eight-byte word at `word`.
    @inline(__always)
    func fromWord(_ bits: UInt64, at word: Int) -> Value {
        Value(truncatingIfNeeded: bits >> UInt64(8 * (offset - word)))
    }
}

/// Reserved bytes of a layout: written as zero, and a record where they are not is refused.
struct Reserved<Word: FixedWidthInteger> {
    let offset: Int

    @inline(__always)
    func clear(in buffer: UnsafeMutableRawBufferPointer) {
        buffer.store(Word.zero, at: offset)
    }

    @inline(__always)
    func check(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        guard bytes.load(Word.self, at: offset) == 0 else { throw .badField("reserved") }
    }

    /// Whether this field's bytes within the eight-byte word at `word` are zero.
    @inline(__always)
    func isZero(inWord bits: UInt64, at word: Int) -> Bool {
        Word(truncatingIfNeeded: bits >> UInt64(8 * (offset - word))) == 0
    }
}

extension WireValue where Self: FixedWidthInteger {
    @inline(__always)
    func store(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) { buffer.store(self, at: offset) }

    @inline(__always)
    static func load(from bytes: UnsafeRawBufferPointer, at offset: Int, field: StaticString) throws(WireError) -> Self {
        bytes.load(Self.self, at: offset)
    }
}

extension UInt8: WireValue {}
extension UInt16: WireValue {}
extension UInt32: WireValue {}
extension UInt64: WireValue {}
extension Int64: WireValue {}

/// IEEE-754 bits, kept exactly (NaN payloads included).
extension Double: WireValue {
    @inline(__always)
    func store(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) { buffer.store(bitPattern, at: offset) }

    @inline(__always)
    static func load(from bytes: UnsafeRawBufferPointer, at offset: Int, field: StaticString) throws(WireError) -> Double {
        Double(bitPattern: bytes.load(UInt64.self, at: offset))
    }
}

/// An `i64` count of 1e-9.
extension Price: WireValue {
    @inline(__always)
    func store(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) { buffer.store(raw, at: offset) }

    @inline(__always)
    static func load(from bytes: UnsafeRawBufferPointer, at offset: Int, field: StaticString) throws(WireError) -> Price {
        Price(raw: bytes.load(Int64.self, at: offset))
    }
}

/// A `char[24]`: printable ASCII, NUL-padded.
extension FixedString: WireValue {
    @inline(__always)
    func store(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) { writeField(into: buffer, at: offset) }

    @inline(__always)
    static func load(from bytes: UnsafeRawBufferPointer, at offset: Int, field: StaticString) throws(WireError) -> FixedString {
        do {
            return try FixedString(field: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + FixedString.capacity]))
        } catch {
            throw .badField(field.description)
        }
    }
}

/// A `u8` count, then four `u16` slots; slots past the count must be zero.
extension Conditions: WireValue {
    @inline(__always)
    func store(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        buffer.store(UInt8(count), at: offset)
        buffer.store(packed, at: offset + 1)
    }

    @inline(__always)
    static func load(from bytes: UnsafeRawBufferPointer, at offset: Int, field: StaticString) throws(WireError) -> Conditions {
        guard let conditions = Conditions(
            packed: bytes.load(UInt64.self, at: offset + 1), count: Int(bytes.load(UInt8.self, at: offset)))
        else { throw .badField(field.description) }
        return conditions
    }
}

/// A `u32` number of seconds, more than zero.
extension BarInterval: WireValue {
    @inline(__always)
    func store(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) { buffer.store(seconds, at: offset) }

    @inline(__always)
    static func load(from bytes: UnsafeRawBufferPointer, at offset: Int, field: StaticString) throws(WireError) -> BarInterval {
        guard let interval = try? BarInterval(seconds: bytes.load(UInt32.self, at: offset)) else {
            throw .badField(field.description)
        }
        return interval
    }
}

/// A `u8` level code.
extension StatusLevel: WireValue {
    @inline(__always)
    func store(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) { buffer.store(rawValue, at: offset) }

    @inline(__always)
    static func load(from bytes: UnsafeRawBufferPointer, at offset: Int, field: StaticString) throws(WireError) -> StatusLevel {
        guard let level = StatusLevel(rawValue: bytes.load(UInt8.self, at: offset)) else { throw .badField(field.description) }
        return level
    }
}
