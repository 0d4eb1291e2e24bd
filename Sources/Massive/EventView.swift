import TickBusCore

extension DecodeProblem: Error {}

/// The fields of one event in its frame, read into record fields on demand.
struct EventView {
    let frame: UnsafeRawBufferPointer
    let fields: EventFields

    @inline(__always)
    func bytes(_ slot: EventFields.Slot) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: frame[slot.start..<slot.end])
    }

    /// A field's number text: a JSON number, or a string holding one (`"4"`, `"4989.0"`).
    @inline(__always)
    private func numberText(_ key: FieldKey) throws(DecodeProblem) -> UnsafeRawBufferPointer? {
        guard let slot = fields[key] else { return nil }
        guard slot.kind == .number || (slot.kind == .string && !slot.escaped) else { throw .badValue }
        return bytes(slot)
    }

    func symbol(_ key: FieldKey) throws(DecodeProblem) -> Symbol {
        guard let slot = fields[key] else { throw .missingField }
        guard slot.kind == .string, !slot.escaped, slot.end > slot.start,
              let symbol = try? Symbol(ascii: bytes(slot))
        else { throw .badSymbol }
        return symbol
    }

    func price(_ key: FieldKey) throws(DecodeProblem) -> Price {
        guard let text = try numberText(key) else { throw .missingField }
        guard let price = try? Price(ascii: text) else { throw .badValue }
        return price
    }

    /// A price, or ``Price/null`` when the field is absent.
    func optionalPrice(_ key: FieldKey) throws(DecodeProblem) -> Price {
        fields.has(key) ? try price(key) : .null
    }

    func double(_ key: FieldKey, absent: Double) throws(DecodeProblem) -> Double {
        guard let text = try numberText(key) else { return absent }
        guard let value = NumberText.double(text) else { throw .badValue }
        guard value.isFinite else { throw .outOfRange }
        return value
    }

    func int(_ key: FieldKey, absent: Int64 = 0) throws(DecodeProblem) -> Int64 {
        guard let text = try numberText(key) else { return absent }
        guard let value = NumberText.int64(text) else { throw .badValue }
        return value
    }

    /// A whole number that must fit `T` (a tape, an exchange, a count).
    func int<T: FixedWidthInteger>(_ key: FieldKey, as: T.Type) throws(DecodeProblem) -> T {
        guard let value = T(exactly: try int(key)) else { throw .outOfRange }
        return value
    }

    /// A timestamp in ns, whatever unit Massive used.
    func time(_ key: FieldKey) throws(DecodeProblem) -> Int64 {
        guard fields.has(key) else { throw .missingField }
        guard let ns = NumberText.nanoseconds(byMagnitude: try int(key)) else { throw .outOfRange }
        return ns
    }

    /// Text of a string field with JSON escapes resolved (for status messages).
    func text(_ key: FieldKey) -> String {
        guard let slot = fields[key], slot.kind == .string else { return "" }
        let raw = bytes(slot)
        return slot.escaped ? JSONUnescape.string(raw) : String(decoding: raw, as: UTF8.self)
    }

    /// Condition codes of an array field (`[0,12]`); more than four are truncated and counted.
    func conditions(_ key: FieldKey, counters: inout DecodeCounters) throws(DecodeProblem) -> Conditions {
        var conditions = Conditions()
        guard let slot = fields[key] else { return conditions }
        guard slot.kind == .array else { throw .badValue }
        let raw = bytes(slot)
        var i = 1
        let end = raw.count - 1
        var truncated = false
        while i < end {
            let b = raw[i]
            if b == UInt8(ascii: ",") || b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 {
                i += 1
                continue
            }
            let start = i
            while i < end, raw[i] == UInt8(ascii: "-") || raw[i] &- UInt8(ascii: "0") < 10 { i += 1 }
            guard let code = NumberText.int64(UnsafeRawBufferPointer(rebasing: raw[start..<i])),
                  let small = UInt16(exactly: code)
            else { throw .badValue }
            if !conditions.append(small) { truncated = true }
        }
        if truncated { counters.problems[.conditionsTruncated, default: 0] += 1 }
        return conditions
    }

    // MARK: Records

    func header(_ market: Market, _ receivedAt: Int64, symbol: FieldKey, time: FieldKey) throws(DecodeProblem) -> RecordHeader {
        RecordHeader(market: market, tsEvent: try self.time(time), tsRecv: receivedAt, symbol: try self.symbol(symbol))
    }

    /// Stocks, options, futures `T`; crypto `XT`. `size` names a decimal-size field that wins
    /// over `s` when present (stocks `ds`).
    func trade(
        _ market: Market, _ receivedAt: Int64, symbol: FieldKey, size: FieldKey?, counters: inout DecodeCounters
    ) throws(DecodeProblem) -> Trade {
        var tradeID = FixedString()
        if let slot = fields[.i] {
            guard slot.kind == .string || slot.kind == .number, !slot.escaped else { throw .badValue }
            do {
                tradeID = try FixedString(ascii: bytes(slot))
            } catch {
                counters.problems[.tradeIDTooLong, default: 0] += 1
            }
        }
        let sizeKey = size.flatMap { fields.has($0) ? $0 : nil } ?? .s
        return Trade(
            header: try header(market, receivedAt, symbol: symbol, time: .t), price: try price(.p),
            size: try double(sizeKey, absent: .nan), upstreamSequence: try int(.q), exchange: try int(.x, as: UInt16.self),
            tape: try int(.z, as: UInt8.self), conditions: try conditions(.c, counters: &counters), tradeID: tradeID)
    }

    /// Indices `V`: the index value as a trade price, with no size.
    func indexValue(_ receivedAt: Int64) throws(DecodeProblem) -> Trade {
        Trade(header: try header(.indices, receivedAt, symbol: .T, time: .t), price: try price(.val), size: .nan)
    }

    /// Stocks, options, futures `Q`; crypto `XQ`.
    func quote(_ market: Market, _ receivedAt: Int64, symbol: FieldKey) throws(DecodeProblem) -> Quote {
        Quote(
            header: try header(market, receivedAt, symbol: symbol, time: .t),
            bidPrice: try optionalPrice(.bp), askPrice: try optionalPrice(.ap),
            bidSize: try double(.bs, absent: .nan), askSize: try double(.as, absent: .nan),
            upstreamSequence: try int(.q), bidExchange: try int(fields.has(.bx) ? .bx : .x, as: UInt16.self),
            askExchange: try int(fields.has(.ax) ? .ax : .x, as: UInt16.self), condition: try int(.c, as: UInt16.self),
            tape: try int(.z, as: UInt8.self))
    }

    /// Forex `C`: bid `b`, ask `a`, pair `p`, no sizes.
    func forexQuote(_ receivedAt: Int64) throws(DecodeProblem) -> Quote {
        let exchange = try int(.x, as: UInt16.self)
        return Quote(
            header: try header(.forex, receivedAt, symbol: .p, time: .t), bidPrice: try optionalPrice(.b),
            askPrice: try optionalPrice(.a), bidSize: .nan, askSize: .nan, bidExchange: exchange, askExchange: exchange)
    }

    /// Aggregates of every market; stamped at their start `s`. Stocks and options carry the
    /// decimal volume `dv` (a string) beside `v`; futures' `dv` is dollar value and is ignored.
    func bar(_ market: Market, _ receivedAt: Int64, interval: BarInterval, symbol: FieldKey) throws(DecodeProblem) -> Bar {
        let volumeKey: FieldKey = (market == .stocks || market == .options) && fields.has(.dv) ? .dv : .v
        return Bar(
            header: try header(market, receivedAt, symbol: symbol, time: .s), open: try price(.o),
            high: try price(.h), low: try price(.l), close: try price(.c), vwap: try optionalPrice(.vw),
            volume: try double(volumeKey, absent: .nan), tradeCount: try int(.n, as: UInt64.self), interval: interval)
    }
}

/// Resolves JSON string escapes (rare in Massive's frames: status messages at most).
package enum JSONUnescape {
    package static func string(_ raw: UnsafeRawBufferPointer) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            let b = raw[i]
            guard b == UInt8(ascii: "\\"), i + 1 < raw.count else {
                out.append(b)
                i += 1
                continue
            }
            let e = raw[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                guard i + 4 <= raw.count,
                      let code = UInt32(String(decoding: UnsafeRawBufferPointer(rebasing: raw[i..<i + 4]), as: UTF8.self), radix: 16),
                      let scalar = Unicode.Scalar(code)
                else { out.append(UInt8(ascii: "?")); continue }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
                i += 4
            default: out.append(e)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
