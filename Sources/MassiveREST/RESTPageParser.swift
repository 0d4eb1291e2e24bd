import JSONText
import Massive
import TickBusCore

/// One page of a Massive REST response, as records.
public struct RESTPage: Sendable {
    /// The page's results in the order Massive sent them, flagged ``RecordFlags/historical``.
    public var records: [Record] = []
    /// Massive's `next_url`, when there are more pages.
    public var nextURL: String?
    /// Results left out: no usable time or price, or a field of the wrong type.
    public var skipped = 0
    /// Results kept with a field cut, by reason (``DecodeProblem/conditionsTruncated``,
    /// ``DecodeProblem/tradeIDTooLong``), counted as the WebSocket decoder counts them.
    public var cuts: [DecodeProblem: UInt64] = [:]

    public init() {}
}

/// Why a body is not a page of results.
public struct RESTPageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where in the body the problem was found.
    public let offset: Int
    public let reason: String

    public var description: String { "\(reason) (at byte \(offset))" }
}

/// Turns the body of an aggregates or v3 trades/quotes response into records, with a
/// byte-level scanner (no Foundation, nothing allocated per result). `results` missing or
/// null is an empty page; unknown keys are skipped.
///
/// Bars get the same fields as the WebSocket decoder gives `A`/`AM` bars (start time, VWAP,
/// volume, trade count `n` or 0), so a backfilled bar equals the live one apart from its flags
/// and `tsRecv`. Trades: `price`, `decimal_size` (else `size`), `exchange`, `tape`, the first
/// four `conditions`, `id`, `sequence_number`, `sip_timestamp` (else `participant_timestamp`).
/// Quotes likewise, with the first condition code.
public struct RESTPageParser: Sendable {
    public let kind: HistoryKind
    public let symbol: Symbol
    public let market: Market
    private var fields = JSONFieldTable<ResultField>()

    public init(kind: HistoryKind, symbol: Symbol, market: Market) {
        self.kind = kind
        self.symbol = symbol
        self.market = market
    }

    public init(query: HistoryQuery) {
        self.init(kind: query.kind, symbol: query.symbol, market: query.market)
    }

    /// Parses one response body; `receivedAt` (ns since the epoch) becomes each record's `tsRecv`.
    public mutating func parse(_ body: UnsafeRawBufferPointer, receivedAt: Int64) throws(RESTPageError) -> RESTPage {
        var json = JSONScanner(body)
        var page = RESTPage()
        let problem: String?
        do {
            problem = try walk(&json, body, receivedAt, &page)
        } catch {
            problem = json.atEnd ? "truncated JSON" : "invalid JSON"
        }
        if let problem { throw RESTPageError(offset: json.index, reason: problem) }
        return page
    }

    /// Walks the top-level object; returns what is wrong with it, if anything is.
    private mutating func walk(
        _ json: inout JSONScanner, _ body: UnsafeRawBufferPointer, _ receivedAt: Int64, _ page: inout RESTPage
    ) throws(JSONScanner.Malformed) -> String? {
        guard json.peek() == UInt8(ascii: "{") else { return json.atEnd ? "empty body" : "not a JSON object" }
        json.index += 1
        if !json.consume(UInt8(ascii: "}")) {
            repeat {
                json.skipWhitespace()
                let key = try json.string()
                try json.expect(UInt8(ascii: ":"))
                let name = UnsafeRawBufferPointer(rebasing: body[key.start..<key.end])
                if name.elementsEqual("results".utf8) {
                    if json.peek() == UInt8(ascii: "[") {
                        try results(&json, body, receivedAt, &page)
                    } else if try json.value().kind != .null {
                        return "results is not an array"
                    }
                } else if name.elementsEqual("next_url".utf8) {
                    let value = try json.value()
                    if value.kind == .string {
                        let raw = UnsafeRawBufferPointer(rebasing: body[value.start..<value.end])
                        let text = value.escaped ? JSONUnescape.lenient(raw) : String(decoding: raw, as: UTF8.self)
                        page.nextURL = text.isEmpty ? nil : text
                    } else if value.kind != .null {
                        return "next_url is not a string"
                    }
                } else {
                    _ = try json.value()
                }
            } while json.consume(UInt8(ascii: ","))
            try json.expect(UInt8(ascii: "}"))
        }
        json.skipWhitespace()
        return json.atEnd ? nil : "data after the JSON object"
    }

    /// The `results` array, from its `[`.
    private mutating func results(
        _ json: inout JSONScanner, _ body: UnsafeRawBufferPointer, _ receivedAt: Int64, _ page: inout RESTPage
    ) throws(JSONScanner.Malformed) {
        json.index += 1
        page.records.reserveCapacity((body.count - json.index) / (kind.barInterval == nil ? 160 : 64))
        if json.consume(UInt8(ascii: "]")) { return }
        repeat {
            try fields.read(&json)
            do {
                page.records.append(try record(ResultView(text: body, fields: fields), receivedAt, cuts: &page.cuts))
            } catch {
                page.skipped += 1
            }
        } while json.consume(UInt8(ascii: ","))
        try json.expect(UInt8(ascii: "]"))
    }

    @inline(__always)
    private func record(_ view: ResultView, _ receivedAt: Int64, cuts: inout [DecodeProblem: UInt64]) throws(DecodeProblem) -> Record {
        switch kind {
        case .secondBars: .bar(try bar(view, .second, receivedAt))
        case .minuteBars: .bar(try bar(view, .minute, receivedAt))
        case .dayBars: .bar(try bar(view, .day, receivedAt))
        case .trades: .trade(try trade(view, receivedAt, cuts: &cuts))
        case .quotes: .quote(try quote(view, receivedAt))
        }
    }
}
