import Foundation
import Testing
@testable import TickBusCore

@Suite struct JSONValueTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONValue.parse(#" {"a":[1,-2.5e3,true,false,null],"b":{"c":"d\n\u00e9\ud83d\ude00"},"t":1704205800000000001} "#)
        #expect(value["a"] == .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null]))
        #expect(value["b"]?["c"]?.string == "d\né😀")
        #expect(value["t"]?.int == 1_704_205_800_000_000_001)
        #expect(value["missing"] == nil)
        if case .object(let members) = value { #expect(members.map(\.key) == ["a", "b", "t"]) }
    }

    @Test func roundTripsThroughItsText() throws {
        let text = #"{"op":"subscribe","topics":["T.AAPL","A.*"],"n":42,"q":"say \"hi\"\\","o":{}}"#
        let value = try JSONValue.parse(text)
        #expect(value.text == text)
        #expect(try JSONValue.parse(value.text) == value)
    }

    @Test(arguments: [
        "", " ", "{", "}", "[1,]", "{\"a\"}", "{\"a\":}", "{a:1}", "01", "1.", "-", "1e", "tru", "nul", "\"abc",
        "\"\\x\"", "\"\\ud800\"", "\"a\u{01}\"", "[1] 2", "{\"a\":1,}", "NaN", "Infinity", "'a'",
    ])
    func refusesInvalidJSON(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func refusesDeepNestingWithoutExhaustingTheStack() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
        #expect(throws: Never.self) { try JSONValue.parse(String(repeating: "[", count: 60) + String(repeating: "]", count: 60)) }
    }

    /// Agreement with Foundation's parser on random documents built from JSON pieces. Foundation
    /// accepts a trailing comma (`["k",]`), which RFC 8259 does not: those are left out.
    @Test func agreesWithJSONSerializationOnRandomDocuments() throws {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["{", "}", "[", "]", ",", ":", "\"k\"", "1", "-0.5", "true", "null", "\"\\u0041\"", " "]
        var accepted = 0
        for _ in 0..<5_000 {
            let text = (0..<Int.random(in: 1...12, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            let compact = text.filter { $0 != " " }
            if compact.contains(",]") || compact.contains(",}") { continue }
            let ours = try? JSONValue.parse(text)
            let theirs = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
            #expect((ours != nil) == (theirs != nil), "\(text)")
            if ours != nil { accepted += 1 }
        }
        #expect(accepted > 50)
    }
}
