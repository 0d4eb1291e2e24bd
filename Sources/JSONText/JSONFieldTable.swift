/// The keys a reader wants from a flat JSON object, each with a bit in a presence mask.
public protocol JSONFieldKey: RawRepresentable<Int>, CaseIterable {
    /// The key whose name is `bytes`, or nil for a key the reader does not read.
    static func lookup(_ bytes: UnsafeRawBufferPointer) -> Self?
}

extension JSONFieldKey {
    /// Whether `bytes` (of `word`'s length) spell `word`: for ``lookup(_:)``.
    @inlinable @inline(__always)
    public static func matches(_ bytes: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
        guard bytes.count == word.utf8CodeUnitCount else { return false }
        for i in 0..<bytes.count where bytes[i] != word.utf8Start[i] { return false }
        return true
    }
}

/// Where each wanted field of the current object lies in its text. Reused for every object:
/// ``read(_:)`` clears the presence mask, so nothing is allocated per object.
public struct JSONFieldTable<Key: JSONFieldKey>: Sendable {
    /// A field's value: its kind and byte range (a string's without the quotes).
    public struct Slot: Sendable {
        public var start = 0
        public var end = 0
        public var kind = JSONScanner.Kind.null
        public var escaped = false

        @inlinable
        public init(start: Int = 0, end: Int = 0, kind: JSONScanner.Kind = .null, escaped: Bool = false) {
            self.start = start
            self.end = end
            self.kind = kind
            self.escaped = escaped
        }
    }

    @usableFromInline var present: UInt64 = 0
    @usableFromInline var slots: [Slot]

    /// A table for up to 64 keys; keys past the 64th are never found.
    @inlinable
    public init() {
        slots = [Slot](repeating: Slot(), count: min(Key.allCases.count, 64))
    }

    /// Reads one object from its `{` into the table: each wanted key's last value is kept,
    /// other keys and escaped keys are skipped.
    @inlinable
    public mutating func read(_ json: inout JSONScanner) throws(JSONScanner.Malformed) {
        present = 0
        try json.expect(UInt8(ascii: "{"))
        if json.consume(UInt8(ascii: "}")) { return }
        repeat {
            guard json.peek() == UInt8(ascii: "\"") else { throw JSONScanner.Malformed() }
            let key = try json.string()
            try json.expect(UInt8(ascii: ":"))
            let value = try json.value()
            if !key.escaped, let field = Key.lookup(UnsafeRawBufferPointer(rebasing: json.bytes[key.start..<key.end])),
               field.rawValue >= 0, field.rawValue < slots.count {
                slots[field.rawValue] = Slot(start: value.start, end: value.end, kind: value.kind, escaped: value.escaped)
                present |= 1 << UInt64(field.rawValue)
            }
        } while json.consume(UInt8(ascii: ","))
        try json.expect(UInt8(ascii: "}"))
    }

    /// Whether the object has `key` (null included).
    @inlinable @inline(__always)
    public func has(_ key: Key) -> Bool {
        key.rawValue >= 0 && key.rawValue < slots.count && present & (1 << UInt64(key.rawValue)) != 0
    }

    /// The field's slot if the object has it and it is not null.
    @inlinable @inline(__always)
    public subscript(key: Key) -> Slot? {
        guard has(key) else { return nil }
        let slot = slots[key.rawValue]
        return slot.kind == .null ? nil : slot
    }
}
