import JSONText
import TickBusCore

/// The fields of one WebSocket event.
typealias EventView = FieldView<EventField>

/// Records from WebSocket events, market by market.
extension FieldView<EventField> {
    func header(_ market: Market, _ receivedAt: Int64, symbol: EventField, time: EventField) throws(DecodeProblem) -> RecordHeader {
        RecordHeader(market: market, tsEvent: try self.time(time), tsRecv: receivedAt, symbol: try self.symbol(symbol))
    }

    /// Stocks, options, futures `T`; crypto `XT`. `size` names a decimal-size field that wins
    /// over `s` when present (stocks `ds`).
    func trade(
        _ market: Market, _ receivedAt: Int64, symbol: EventField, size: EventField?, cuts: inout [DecodeProblem: UInt64]
    ) throws(DecodeProblem) -> Trade {
        let sizeKey = size.flatMap { fields.has($0) ? $0 : nil } ?? .s
        return Trade(
            header: try header(market, receivedAt, symbol: symbol, time: .t), price: try price(.p),
            size: try double(sizeKey, absent: .nan), upstreamSequence: try int(.q), exchange: try int(.x, as: UInt16.self),
            tape: try int(.z, as: UInt8.self), conditions: try conditions(.c, cuts: &cuts), tradeID: try tradeID(.i, cuts: &cuts))
    }

    /// Indices `V`: the index value as a trade price, with no size.
    func indexValue(_ receivedAt: Int64) throws(DecodeProblem) -> Trade {
        Trade(header: try header(.indices, receivedAt, symbol: .T, time: .t), price: try price(.val), size: .nan)
    }

    /// Stocks, options, futures `Q`; crypto `XQ`.
    func quote(_ market: Market, _ receivedAt: Int64, symbol: EventField) throws(DecodeProblem) -> Quote {
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
    func bar(_ market: Market, _ receivedAt: Int64, interval: BarInterval, symbol: EventField) throws(DecodeProblem) -> Bar {
        let volumeKey: EventField = (market == .stocks || market == .options) && fields.has(.dv) ? .dv : .v
        return Bar(
            header: try header(market, receivedAt, symbol: symbol, time: .s), open: try price(.o),
            high: try price(.h), low: try price(.l), close: try price(.c), vwap: try optionalPrice(.vw),
            volume: try double(volumeKey, absent: .nan), tradeCount: try int(.n, as: UInt64.self), interval: interval)
    }
}
