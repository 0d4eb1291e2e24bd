import JSONText
import TickBusCore

extension DecodeProblem: Error {}

/// The fields of one JSON object from Massive (a WebSocket event, a REST result), read into
/// record field types on demand with one set of rules for both APIs: a number may come as a
/// string holding one (`"4"`, `"4989.0"`), a value that does not fit its field is
/// ``DecodeProblem/outOfRange``, and what is kept with a cut (conditions past four, a trade id
/// longer than a record holds) is counted in `cuts`.
public struct FieldView<Key: JSONFieldKey> {
    public let text: UnsafeRawBufferPointer
    public let fields: JSONFieldTable<Key>

    @inlinable
    public init(text: UnsafeRawBufferPointer, fields: JSONFieldTable<Key>) {
        self.text = text
        self.fields = fields
    }

    @inlinable @inline(__always)
    public func bytes(_ slot: JSONFieldTable<Key>.Slot) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: text[slot.start..<slot.end])
    }

    /// Whether the object has `key` with a value other than null.
    @inlinable @inline(__always)
    public func has(_ key: Key) -> Bool { fields[key] != nil }

    /// A field's number text: a JSON number, or a string holding one.
    @inlinable @inline(__always)
    func numberText(_ key: Key) throws(DecodeProblem) -> UnsafeRawBufferPointer? {
        guard let slot = fields[key] else { return nil }
        guard slot.kind == .number || (slot.kind == .string && !slot.escaped) else { throw .badValue }
        return bytes(slot)
    }

    @inlinable
    public func symbol(_ key: Key) throws(DecodeProblem) -> Symbol {
        guard let slot = fields[key] else { throw .missingField }
        guard slot.kind == .string, !slot.escaped, slot.end > slot.start,
              let symbol = try? Symbol(ascii: bytes(slot))
        else { throw .badSymbol }
        return symbol
    }

    @inlinable
    public func price(_ key: Key) throws(DecodeProblem) -> Price {
        guard let text = try numberText(key) else { throw .missingField }
        guard let price = try? Price(ascii: text) else { throw .badValue }
        return price
    }

    /// A price, or ``Price/null`` when the field is absent or null.
    @inlinable
    public func optionalPrice(_ key: Key) throws(DecodeProblem) -> Price {
        has(key) ? try price(key) : .null
    }

    @inlinable
    public func double(_ key: Key, absent: Double = .nan) throws(DecodeProblem) -> Double {
        guard let text = try numberText(key) else { return absent }
        guard let value = NumberText.double(text) else { throw .badValue }
        guard value.isFinite else { throw .outOfRange }
        return value
    }

    @inlinable
    public func int(_ key: Key, absent: Int64 = 0) throws(DecodeProblem) -> Int64 {
        guard let text = try numberText(key) else { return absent }
        guard let value = NumberText.int64(text) else { throw .badValue }
        return value
    }

    /// A whole number that must fit `T` (a tape, an exchange, a count).
    @inlinable
    public func int<T: FixedWidthInteger>(_ key: Key, as: T.Type) throws(DecodeProblem) -> T {
        guard let value = T(exactly: try int(key)) else { throw .outOfRange }
        return value
    }

    /// A required number of ms, µs or ns since the epoch (told apart by magnitude), in ns.
    @inlinable
    public func time(_ key: Key) throws(DecodeProblem) -> Int64 {
        guard has(key) else { throw .missingField }
        guard let ns = NumberText.nanoseconds(byMagnitude: try int(key)) else { throw .outOfRange }
        return ns
    }

    /// Text of a string field with its escapes resolved ("" when absent); for status messages.
    @inlinable
    public func string(_ key: Key) -> String {
        guard let slot = fields[key], slot.kind == .string else { return "" }
        return slot.escaped ? JSONUnescape.lenient(bytes(slot)) : String(decoding: bytes(slot), as: UTF8.self)
    }

    /// Condition codes of an array field (`[12, 37]`); codes past the fourth are dropped and
    /// the cut is counted.
    @inlinable
    public func conditions(_ key: Key, cuts: inout [DecodeProblem: UInt64]) throws(DecodeProblem) -> Conditions {
        var conditions = Conditions()
        guard let slot = fields[key] else { return conditions }
        guard slot.kind == .array else { throw .badValue }
        var json = JSONScanner(bytes(slot))
        json.index = 1
        if json.consume(UInt8(ascii: "]")) { return conditions }
        var cut = false
        repeat {
            guard let value = try? json.value(), value.kind == .number else { throw .badValue }
            guard let code = NumberText.int64(UnsafeRawBufferPointer(rebasing: json.bytes[value.start..<value.end])) else {
                throw .badValue
            }
            guard let small = UInt16(exactly: code) else { throw .outOfRange }
            if !conditions.append(small) { cut = true }
        } while json.consume(UInt8(ascii: ","))
        guard json.consume(UInt8(ascii: "]")) else { throw .badValue }
        if cut { cuts[.conditionsTruncated, default: 0] += 1 }
        return conditions
    }

    /// Massive's trade id (a string or a number); empty when absent, and empty with the cut
    /// counted when longer than a record holds.
    @inlinable
    public func tradeID(_ key: Key, cuts: inout [DecodeProblem: UInt64]) throws(DecodeProblem) -> FixedString {
        guard let slot = fields[key] else { return FixedString() }
        guard slot.kind == .string || slot.kind == .number, !slot.escaped else { throw .badValue }
        guard let id = try? FixedString(ascii: bytes(slot)) else {
            cuts[.tradeIDTooLong, default: 0] += 1
            return FixedString()
        }
        return id
    }
}
