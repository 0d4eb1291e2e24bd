import JSONText
import Massive
import TickBusCore

/// The fields of one REST result, read with the same rules as a WebSocket event's.
typealias ResultView = FieldView<ResultField>

/// Records from REST results.
extension RESTPageParser {
    /// Aggregates: `t` is the window start in ms; `n` and `vw` may be absent.
    func bar(_ view: ResultView, _ interval: BarInterval, _ receivedAt: Int64) throws(DecodeProblem) -> Bar {
        guard view.has(.t) else { throw .missingField }
        let (start, overflow) = try view.int(.t).multipliedReportingOverflow(by: 1_000_000)
        guard !overflow else { throw .outOfRange }
        return Bar(
            header: header(start, receivedAt), open: try view.price(.o), high: try view.price(.h),
            low: try view.price(.l), close: try view.price(.c), vwap: try view.optionalPrice(.vw),
            volume: try view.double(.v), tradeCount: try view.int(.n, as: UInt64.self), interval: interval)
    }

    /// v3 trades: the decimal size, when present, wins over `size` (as `ds` over `s` live).
    func trade(_ view: ResultView, _ receivedAt: Int64, cuts: inout [DecodeProblem: UInt64]) throws(DecodeProblem) -> Trade {
        Trade(
            header: header(try v3Time(view), receivedAt), price: try view.price(.price),
            size: try view.double(view.has(.decimalSize) ? .decimalSize : .size),
            upstreamSequence: try view.int(.sequenceNumber), exchange: try view.int(.exchange, as: UInt16.self),
            tape: try view.int(.tape, as: UInt8.self), conditions: try view.conditions(.conditions, cuts: &cuts),
            tradeID: try view.tradeID(.id, cuts: &cuts))
    }

    /// v3 quotes: the first condition code (a quote record holds one); forex quotes have no
    /// sizes (NaN).
    func quote(_ view: ResultView, _ receivedAt: Int64) throws(DecodeProblem) -> Quote {
        var beyondTheFirst: [DecodeProblem: UInt64] = [:]
        let conditions = try view.conditions(.conditions, cuts: &beyondTheFirst)
        return Quote(
            header: header(try v3Time(view), receivedAt), bidPrice: try view.optionalPrice(.bidPrice),
            askPrice: try view.optionalPrice(.askPrice), bidSize: try view.double(.bidSize),
            askSize: try view.double(.askSize), upstreamSequence: try view.int(.sequenceNumber),
            bidExchange: try view.int(.bidExchange, as: UInt16.self), askExchange: try view.int(.askExchange, as: UInt16.self),
            condition: conditions.count > 0 ? conditions[0] : 0, tape: try view.int(.tape, as: UInt8.self))
    }

    /// A v3 timestamp in ns: `sip_timestamp`, else `participant_timestamp` (crypto, forex).
    private func v3Time(_ view: ResultView) throws(DecodeProblem) -> Int64 {
        let field: ResultField = view.has(.sipTimestamp) ? .sipTimestamp : .participantTimestamp
        guard view.has(field) else { throw .missingField }
        return try view.int(field)
    }

    @inline(__always)
    private func header(_ tsEvent: Int64, _ receivedAt: Int64) -> RecordHeader {
        RecordHeader(market: market, flags: .historical, tsEvent: tsEvent, tsRecv: receivedAt, symbol: symbol)
    }
}
