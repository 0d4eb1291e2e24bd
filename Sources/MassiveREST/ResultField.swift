import JSONText

/// The keys of Massive's REST results that tickbus reads: aggregates (`o`, `h`, `l`, `c`, `v`,
/// `vw`, `t`, `n`) and v3 trades and quotes (snake_case).
enum ResultField: Int, JSONFieldKey {
    case o, h, l, c, v, vw, t, n
    case price, size, decimalSize, exchange, id, conditions, tape, sequenceNumber, sipTimestamp, participantTimestamp
    case bidPrice, bidSize, bidExchange, askPrice, askSize, askExchange

    /// Maps a key's bytes to a field; nil for keys tickbus does not read.
    @inline(__always)
    static func lookup(_ key: UnsafeRawBufferPointer) -> ResultField? {
        switch key.count {
        case 1:
            switch key[0] {
            case UInt8(ascii: "o"): return .o
            case UInt8(ascii: "h"): return .h
            case UInt8(ascii: "l"): return .l
            case UInt8(ascii: "c"): return .c
            case UInt8(ascii: "v"): return .v
            case UInt8(ascii: "t"): return .t
            case UInt8(ascii: "n"): return .n
            default: return nil
            }
        case 2:
            if key[0] == UInt8(ascii: "v"), key[1] == UInt8(ascii: "w") { return .vw }
            if key[0] == UInt8(ascii: "i"), key[1] == UInt8(ascii: "d") { return .id }
            return nil
        case 4:
            if matches(key, "size") { return .size }
            return matches(key, "tape") ? .tape : nil
        case 5:
            return matches(key, "price") ? .price : nil
        case 8:
            if matches(key, "exchange") { return .exchange }
            if matches(key, "bid_size") { return .bidSize }
            return matches(key, "ask_size") ? .askSize : nil
        case 9:
            if matches(key, "bid_price") { return .bidPrice }
            return matches(key, "ask_price") ? .askPrice : nil
        case 10:
            return matches(key, "conditions") ? .conditions : nil
        case 12:
            if matches(key, "decimal_size") { return .decimalSize }
            if matches(key, "bid_exchange") { return .bidExchange }
            return matches(key, "ask_exchange") ? .askExchange : nil
        case 13:
            return matches(key, "sip_timestamp") ? .sipTimestamp : nil
        case 15:
            return matches(key, "sequence_number") ? .sequenceNumber : nil
        case 21:
            return matches(key, "participant_timestamp") ? .participantTimestamp : nil
        default:
            return nil
        }
    }
}
