import Bus
import Foundation
import Massive
import TickBusCore

/// Massive frames decoded by tickbus's byte scanner vs Foundation's `JSONDecoder`, on the same
/// trade and quote frames (50 events per frame, as Massive batches them).
public enum DecodeBenchmark {
    public static func run(events: Int) -> [Figure] {
        let tradeFrames = frames(events: events, event: trade)
        let quoteFrames = frames(events: events, event: quote)
        let foundationEvents = max(events / 10, 5000)
        let scannerTrades = scannerRate(tradeFrames)
        let foundationTrades = foundationRate(Array(tradeFrames.prefix(foundationEvents / 50)), as: TradeDTO.self)
        let scannerQuotes = scannerRate(quoteFrames)
        let foundationQuotes = foundationRate(Array(quoteFrames.prefix(foundationEvents / 50)), as: QuoteDTO.self)
        return [
            Figure(name: "decode: Foundation JSONDecoder, trades", value: foundationTrades, unit: "events/s"),
            Figure(name: "decode: tickbus scanner, trades", value: scannerTrades, unit: "events/s",
                   baseline: foundationTrades, target: ">= 2M and >= 12x JSONDecoder"),
            Figure(name: "decode: Foundation JSONDecoder, quotes", value: foundationQuotes, unit: "events/s"),
            Figure(name: "decode: tickbus scanner, quotes", value: scannerQuotes, unit: "events/s",
                   baseline: foundationQuotes, target: ">= 12x JSONDecoder"),
        ]
    }

    private static func scannerRate(_ frames: [[UInt8]]) -> Double {
        var decoder = MassiveDecoder(market: .stocks)
        var checksum: Int64 = 0
        let start = MonotonicClock.nanoseconds()
        for frame in frames {
            frame.withUnsafeBytes { bytes in
                decoder.decode(bytes, receivedAt: start) { event in
                    if case .record(let record) = event { checksum &+= record.header.tsEvent }
                }
            }
        }
        let seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
        precondition(checksum != 0 && decoder.counters.problemTotal == 0)
        return Double(decoder.counters.records) / seconds
    }

    private static func foundationRate<T: Decodable & Timestamped>(_ frames: [[UInt8]], as type: T.Type) -> Double {
        let decoder = JSONDecoder()
        var checksum: Int64 = 0
        var count = 0
        let start = MonotonicClock.nanoseconds()
        for frame in frames {
            guard let events = try? decoder.decode([T].self, from: Data(frame)) else { continue }
            for event in events { checksum &+= event.t }
            count += events.count
        }
        let seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
        precondition(checksum != 0)
        return Double(count) / seconds
    }

    private static func frames(events: Int, event: (Int) -> String) -> [[UInt8]] {
        stride(from: 0, to: events, by: 50).map { first in
            Array(("[" + (first..<min(first + 50, events)).map(event).joined(separator: ",") + "]").utf8)
        }
    }

    private static let symbols = ["AAPL", "MSFT", "SPY", "QQQ", "NVDA", "TSLA", "AMZN", "BRK.B"]

    private static func trade(_ i: Int) -> String {
        #"{"ev":"T","sym":"\#(symbols[i & 7])","x":\#(i % 20),"i":"\#(52_983_525_029_461 + i)","z":3,"p":\#(100 + i % 5000).\#(i % 100),"s":\#(1 + i % 500),"c":[12,37],"t":\#(1_704_187_800_000 + i / 10),"q":\#(3_681_328 + i)}"#
    }

    private static func quote(_ i: Int) -> String {
        #"{"ev":"Q","sym":"\#(symbols[i & 7])","bx":4,"bp":\#(100 + i % 5000).\#(i % 100),"bs":\#(1 + i % 50),"ax":7,"ap":\#(100 + i % 5000).\#(i % 100 + 1),"as":\#(2 + i % 70),"c":0,"i":[604],"t":\#(1_704_187_800_000 + i / 10),"q":\#(50_385_480 + i),"z":3}"#
    }
}

protocol Timestamped {
    var t: Int64 { get }
}

/// Massive's stock trade, as a Codable client would model it.
struct TradeDTO: Decodable, Timestamped {
    let ev: String
    let sym: String
    let x: Int
    let i: String
    let z: Int
    let p: Double
    let s: Double
    let c: [Int]?
    let t: Int64
    let q: Int64
}

/// Massive's stock quote, as a Codable client would model it.
struct QuoteDTO: Decodable, Timestamped {
    let ev: String
    let sym: String
    let bx: Int
    let bp: Double
    let bs: Double
    let ax: Int
    let ap: Double
    let `as`: Double
    let c: Int?
    let i: [Int]?
    let t: Int64
    let q: Int64
    let z: Int
}
