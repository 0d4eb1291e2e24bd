import TickBusCore

/// How fast pages parse: a representative 50,000-bar aggregates body built in memory (no
/// network), parsed repeatedly.
public enum RESTBenchmark {
    public struct Result: Sendable {
        public let records: Int
        public let bytes: Int
        public let seconds: Double
        public var recordsPerSecond: Double { Double(records) / seconds }
        public var megabytesPerSecond: Double { Double(bytes) / seconds / 1e6 }
    }

    /// Parses a page of `bars` second bars `repetitions` times on the calling thread.
    public static func parseRate(bars: Int = 50_000, repetitions: Int = 20) -> Result {
        let body = Array(pageBody(bars: bars).utf8)
        var parser = RESTPageParser(kind: .secondBars, symbol: "AAPL", market: .stocks)
        var records = 0
        let start = ContinuousClock.now
        for _ in 0..<max(repetitions, 1) {
            records += body.withUnsafeBytes { bytes in
                (try? parser.parse(bytes, receivedAt: 0))?.records.count ?? 0
            }
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Result(records: records, bytes: body.count * max(repetitions, 1), seconds: seconds)
    }

    /// An aggregates response as Massive sends it: keys in Massive's order, prices of a random
    /// walk around 230 with one or two decimals, integer volumes, four-decimal VWAPs.
    public static func pageBody(bars: Int) -> String {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        func cents(_ c: Int) -> String {
            let whole = c / 100, frac = c % 100
            return frac == 0 ? "\(whole)" : frac % 10 == 0 ? "\(whole).\(frac / 10)" : "\(whole).\(frac < 10 ? "0" : "")\(frac)"
        }
        var out = #"{"ticker":"AAPL","queryCount":\#(bars),"resultsCount":\#(bars),"adjusted":true,"results":["#
        out.reserveCapacity(bars * 110 + 400)
        var price = 23_000
        let startMs: Int64 = 1_741_100_400_000
        for i in 0..<bars {
            let open = price
            price += Int(next() % 21) - 10
            let close = price
            let high = max(open, close) + Int(next() % 5)
            let low = min(open, close) - Int(next() % 5)
            let volume = 100 + next() % 20_000
            let vwap = Double(low * 100 + Int(next() % UInt64((high - low) * 100 + 1))) / 10_000
            if i > 0 { out += "," }
            out += #"{"v":\#(volume),"vw":\#(vwap),"o":\#(cents(open)),"c":\#(cents(close)),"h":\#(cents(high)),"#
            out += #""l":\#(cents(low)),"t":\#(startMs + Int64(i) * 1_000),"n":\#(1 + next() % 200)}"#
        }
        let nextFrom = startMs + Int64(bars) * 1_000
        out += #"],"status":"OK","request_id":"6a7e466379af0a71039d60cc78e72282","#
        out += #""next_url":"https://api.massive.com/v2/aggs/ticker/AAPL/range/1/second/\#(nextFrom)/2025-03-05?cursor=YWRqdXN0ZWQ9dHJ1ZSZsaW1pdD01MDAwMCZzb3J0PWFzYw"}"#
        return out
    }
}
