/// The keys of Massive's events that tickbus reads, each with a bit in a presence mask.
enum FieldKey: Int, CaseIterable {
    case ev, sym, T, pair, p, s, ds, x, i, z, c, t, q
    case bx, bp, bs, ax, ap, `as`
    case o, h, l, v, dv, vw, a, b, e, n, val
    case status, message

    /// Maps a key's bytes to a field; nil for keys tickbus does not read.
    @inline(__always)
    static func lookup(_ bytes: UnsafeRawBufferPointer) -> FieldKey? {
        switch bytes.count {
        case 1:
            switch bytes[0] {
            case UInt8(ascii: "T"): return .T
            case UInt8(ascii: "p"): return .p
            case UInt8(ascii: "s"): return .s
            case UInt8(ascii: "x"): return .x
            case UInt8(ascii: "i"): return .i
            case UInt8(ascii: "z"): return .z
            case UInt8(ascii: "c"): return .c
            case UInt8(ascii: "t"): return .t
            case UInt8(ascii: "q"): return .q
            case UInt8(ascii: "o"): return .o
            case UInt8(ascii: "h"): return .h
            case UInt8(ascii: "l"): return .l
            case UInt8(ascii: "v"): return .v
            case UInt8(ascii: "a"): return .a
            case UInt8(ascii: "b"): return .b
            case UInt8(ascii: "e"): return .e
            case UInt8(ascii: "n"): return .n
            default: return nil
            }
        case 2:
            switch (bytes[0], bytes[1]) {
            case (UInt8(ascii: "e"), UInt8(ascii: "v")): return .ev
            case (UInt8(ascii: "d"), UInt8(ascii: "s")): return .ds
            case (UInt8(ascii: "b"), UInt8(ascii: "x")): return .bx
            case (UInt8(ascii: "b"), UInt8(ascii: "p")): return .bp
            case (UInt8(ascii: "b"), UInt8(ascii: "s")): return .bs
            case (UInt8(ascii: "a"), UInt8(ascii: "x")): return .ax
            case (UInt8(ascii: "a"), UInt8(ascii: "p")): return .ap
            case (UInt8(ascii: "a"), UInt8(ascii: "s")): return .as
            case (UInt8(ascii: "d"), UInt8(ascii: "v")): return .dv
            case (UInt8(ascii: "v"), UInt8(ascii: "w")): return .vw
            default: return nil
            }
        case 3:
            if matches(bytes, "sym") { return .sym }
            if matches(bytes, "val") { return .val }
            return nil
        case 4:
            return matches(bytes, "pair") ? .pair : nil
        case 6:
            return matches(bytes, "status") ? .status : nil
        case 7:
            return matches(bytes, "message") ? .message : nil
        default:
            return nil
        }
    }

    @inline(__always)
    private static func matches(_ bytes: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
        for i in 0..<bytes.count where bytes[i] != word.utf8Start[i] { return false }
        return true
    }
}

/// Where each field of the current event lies in the frame. Reset per event by clearing the
/// presence mask, so nothing is allocated per event.
struct EventFields {
    struct Slot {
        var start = 0
        var end = 0
        var kind = JSONBytes.Kind.null
        var escaped = false
    }

    private(set) var present: UInt64 = 0
    private var slots = [Slot](repeating: Slot(), count: FieldKey.allCases.count)

    mutating func reset() { present = 0 }

    @inline(__always)
    mutating func set(_ key: FieldKey, _ slot: Slot) {
        slots[key.rawValue] = slot
        present |= 1 << UInt64(key.rawValue)
    }

    @inline(__always)
    func has(_ key: FieldKey) -> Bool { present & (1 << UInt64(key.rawValue)) != 0 }

    /// The field's slot if present (and not null).
    @inline(__always)
    subscript(key: FieldKey) -> Slot? {
        guard has(key) else { return nil }
        let slot = slots[key.rawValue]
        return slot.kind == .null ? nil : slot
    }
}
