import JSONText

/// The keys of Massive's WebSocket events that tickbus reads.
package enum EventField: Int, JSONFieldKey {
    case ev, sym, T, pair, p, s, ds, x, i, z, c, t, q
    case bx, bp, bs, ax, ap, `as`
    case o, h, l, v, dv, vw, a, b, e, n, val
    case status, message

    /// Maps a key's bytes to a field; nil for keys tickbus does not read.
    @inline(__always)
    package static func lookup(_ bytes: UnsafeRawBufferPointer) -> EventField? {
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
}
