/// Encodes ``KValue``s little-endian into a ``KBuffer``.
public enum KWriter {
    /// Appends one object.
    public static func write(_ value: KValue, into out: KBuffer) throws(KError) {
        switch value {
        case .atom(let t, let scalar):
            out.append(UInt8(bitPattern: -t.rawValue))
            try writeScalar(scalar, type: t, into: out)
        case .vector(let t, let column, let attribute):
            guard column.storage == t.storage else { throw .invalidValue("\(t) vector with \(column.storage) items") }
            out.append(UInt8(bitPattern: t.rawValue))
            out.append(attribute.rawValue)
            out.append(Int32(column.count))
            try writeColumn(column, into: out)
        case .list(let items, let attribute):
            out.append(UInt8(0))
            out.append(attribute.rawValue)
            out.append(Int32(items.count))
            for item in items { try write(item, into: out) }
        case .dictionary(let keys, let values, let sorted):
            out.append(UInt8(sorted ? 127 : 99))
            try write(keys, into: out)
            try write(values, into: out)
        case .table(let names, let columns, let attribute):
            guard names.count == columns.count else { throw .invalidValue("\(names.count) names for \(columns.count) columns") }
            out.append(UInt8(98))
            out.append(attribute.rawValue)
            out.append(UInt8(99))
            try write(.vector(.symbol, .symbols(names)), into: out)
            try write(.list(columns), into: out)
        case .error(let text):
            out.append(UInt8(0x80))
            try writeCString(text, into: out)
        case .identity:
            out.append(UInt8(101))
            out.append(UInt8(0))
        case .function(let f):
            switch f {
            case .lambda(let context, let source):
                out.append(UInt8(100))
                try writeCString(context, into: out)
                try write(source, into: out)
            case .primitive(let type, let code):
                out.append(UInt8(bitPattern: type))
                out.append(code)
            case .composite(let type, let items):
                out.append(UInt8(bitPattern: type))
                out.append(Int32(items.count))
                for item in items { try write(item, into: out) }
            case .derived(let type, let inner):
                out.append(UInt8(bitPattern: type))
                try write(inner, into: out)
            }
        }
    }

    /// Appends a symbol's bytes and its NUL; a NUL inside is refused.
    public static func writeCString(_ text: String, into out: KBuffer) throws(KError) {
        var text = text
        let hasNul = text.withUTF8 { utf8 in
            if utf8.contains(0) { return true }
            out.append(bytes: UnsafeRawBufferPointer(utf8))
            return false
        }
        guard !hasNul else { throw .invalidValue("a symbol may not contain NUL") }
        out.append(UInt8(0))
    }

    static func writeScalar(_ scalar: KScalar, type t: KType, into out: KBuffer) throws(KError) {
        switch (t.storage, scalar) {
        case (.byte, .integer(let v)): out.append(UInt8(truncatingIfNeeded: v))
        case (.short, .integer(let v)): out.append(Int16(truncatingIfNeeded: v))
        case (.int, .integer(let v)): out.append(Int32(truncatingIfNeeded: v))
        case (.long, .integer(let v)): out.append(v)
        case (.real, .real(let v)): out.append(v)
        case (.float, .float(let v)): out.append(v)
        case (.symbol, .symbol(let s)): try writeCString(s, into: out)
        case (.guid, .guid(let g)) where g.count == 16: out.append(g)
        default: throw .invalidValue("\(t) atom holding \(scalar)")
        }
    }

    static func writeColumn(_ column: KColumn, into out: KBuffer) throws(KError) {
        switch column {
        case .bytes(let v): out.append(v)
        case .guids(let v):
            for g in v {
                guard g.count == 16 else { throw .invalidValue("a guid has 16 bytes") }
                out.append(g)
            }
        case .shorts(let v): out.reserve(2 * v.count); for x in v { out.appendUnchecked(x) }
        case .ints(let v): out.reserve(4 * v.count); for x in v { out.appendUnchecked(x) }
        case .longs(let v): out.reserve(8 * v.count); for x in v { out.appendUnchecked(x) }
        case .reals(let v): out.reserve(4 * v.count); for x in v { out.appendUnchecked(x.bitPattern) }
        case .floats(let v): out.reserve(8 * v.count); for x in v { out.appendUnchecked(x.bitPattern) }
        case .symbols(let v): for s in v { try writeCString(s, into: out) }
        }
    }
}
