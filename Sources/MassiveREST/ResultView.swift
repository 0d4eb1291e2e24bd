import Massive
import TickBusCore

/// Why one result was left out of a page (a missing time or price, a value of the wrong type).
struct SkippedResult: Error {}

/// The fields of one result in its page body, read into record fields on demand, with the
/// same number rules as the WebSocket decoder.
struct ResultView {
    let body: UnsafeRawBufferPointer
    let fields: ResultFields

    @inline(__always)
    private func bytes(_ slot: ResultFields.Slot) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: body[slot.start..<slot.end])
    }

    /// A field's number text: a JSON number, or a string holding one (`"4"`, `"0.5"`).
    @inline(__always)
    private func numberText(_ field: ResultField) throws(SkippedResult) -> UnsafeRawBufferPointer? {
        guard let slot = fields[field] else { return nil }
        guard slot.kind == .number || (slot.kind == .string && !slot.escaped) else { throw SkippedResult() }
        return bytes(slot)
    }

    func price(_ field: ResultField) throws(SkippedResult) -> Price {
        guard let text = try numberText(field), let price = try? Price(ascii: text) else { throw SkippedResult() }
        return price
    }

    /// A price, or ``Price/null`` when the field is absent.
    func optionalPrice(_ field: ResultField) throws(SkippedResult) -> Price {
        fields[field] == nil ? .null : try price(field)
    }

    func double(_ field: ResultField, absent: Double = .nan) throws(SkippedResult) -> Double {
        guard let text = try numberText(field) else { return absent }
        guard let value = NumberText.double(text), value.isFinite else { throw SkippedResult() }
        return value
    }

    func int(_ field: ResultField, absent: Int64 = 0) throws(SkippedResult) -> Int64 {
        guard let text = try numberText(field) else { return absent }
        guard let value = NumberText.int64(text) else { throw SkippedResult() }
        return value
    }

    /// A whole number that must fit `T` (a tape, an exchange, a count).
    func int<T: FixedWidthInteger>(_ field: ResultField, as: T.Type) throws(SkippedResult) -> T {
        guard let value = T(exactly: try int(field)) else { throw SkippedResult() }
        return value
    }

    /// Up to four condition codes of an array field (`[12,37]`); further codes are dropped.
    func conditions(_ field: ResultField) throws(SkippedResult) -> Conditions {
        var conditions = Conditions()
        guard let slot = fields[field] else { return conditions }
        guard slot.kind == .array else { throw SkippedResult() }
        var json = JSONBytes(bytes(slot))
        json.index = 1
        if json.consume(UInt8(ascii: "]")) { return conditions }
        repeat {
            guard let value = try? json.value(), value.kind == .number,
                  let code = NumberText.int64(UnsafeRawBufferPointer(rebasing: json.bytes[value.start..<value.end])),
                  let small = UInt16(exactly: code)
            else { throw SkippedResult() }
            conditions.append(small)
        } while json.consume(UInt8(ascii: ","))
        guard json.consume(UInt8(ascii: "]")) else { throw SkippedResult() }
        return conditions
    }

    /// Massive's trade id (string or number); empty when absent or longer than a record holds.
    func tradeID() -> FixedString {
        guard let slot = fields[.id], slot.kind == .string || slot.kind == .number, !slot.escaped else {
            return FixedString()
        }
        return (try? FixedString(ascii: bytes(slot))) ?? FixedString()
    }

    /// A v3 timestamp in ns: `sip_timestamp`, else `participant_timestamp` (crypto, forex).
    func v3Time() throws(SkippedResult) -> Int64 {
        let field: ResultField = fields[.sipTimestamp] != nil ? .sipTimestamp : .participantTimestamp
        guard fields[field] != nil else { throw SkippedResult() }
        return try int(field)
    }
}

extension RESTPageParser {
    /// Aggregates: `t` is the window start in ms; `n` and `vw` may be absent.
    func bar(_ view: ResultView, _ interval: BarInterval, _ receivedAt: Int64) throws(SkippedResult) -> Bar {
        guard view.fields[.t] != nil else { throw SkippedResult() }
        let (start, overflow) = try view.int(.t).multipliedReportingOverflow(by: 1_000_000)
        guard !overflow else { throw SkippedResult() }
        return Bar(
            header: header(start, receivedAt), open: try view.price(.o), high: try view.price(.h),
            low: try view.price(.l), close: try view.price(.c), vwap: try view.optionalPrice(.vw),
            volume: try view.double(.v), tradeCount: try view.int(.n, as: UInt64.self), interval: interval)
    }

    /// v3 trades: the decimal size, when present, wins over `size` (as `ds` over `s` live).
    func trade(_ view: ResultView, _ receivedAt: Int64) throws(SkippedResult) -> Trade {
        Trade(
            header: header(try view.v3Time(), receivedAt), price: try view.price(.price),
            size: try view.double(view.fields[.decimalSize] != nil ? .decimalSize : .size),
            upstreamSequence: try view.int(.sequenceNumber), exchange: try view.int(.exchange, as: UInt16.self),
            tape: try view.int(.tape, as: UInt8.self), conditions: try view.conditions(.conditions),
            tradeID: view.tradeID())
    }

    /// v3 quotes: the first condition code; forex quotes have no sizes (NaN).
    func quote(_ view: ResultView, _ receivedAt: Int64) throws(SkippedResult) -> Quote {
        let conditions = try view.conditions(.conditions)
        return Quote(
            header: header(try view.v3Time(), receivedAt), bidPrice: try view.optionalPrice(.bidPrice),
            askPrice: try view.optionalPrice(.askPrice), bidSize: try view.double(.bidSize),
            askSize: try view.double(.askSize), upstreamSequence: try view.int(.sequenceNumber),
            bidExchange: try view.int(.bidExchange, as: UInt16.self), askExchange: try view.int(.askExchange, as: UInt16.self),
            condition: conditions.count > 0 ? conditions[0] : 0, tape: try view.int(.tape, as: UInt8.self))
    }

    @inline(__always)
    private func header(_ tsEvent: Int64, _ receivedAt: Int64) -> RecordHeader {
        RecordHeader(market: market, flags: .historical, tsEvent: tsEvent, tsRecv: receivedAt, symbol: symbol)
    }
}
