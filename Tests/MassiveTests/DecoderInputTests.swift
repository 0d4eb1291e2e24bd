import Massive
import Testing
import TickBusCore

/// The decoder on the shapes Massive really sends and on bad input: every element counted,
/// good ones kept, never a trap.
struct DecoderInputTests {
    func decode(_ text: String, _ market: Market = .stocks) -> ([MassiveEvent], DecodeCounters) {
        decode(Array(text.utf8), market)
    }

    func decode(_ bytes: [UInt8], _ market: Market = .stocks) -> ([MassiveEvent], DecodeCounters) {
        var decoder = MassiveDecoder(market: market)
        var events: [MassiveEvent] = []
        bytes.withUnsafeBytes { decoder.decode($0, receivedAt: 7) { events.append($0) } }
        return (events, decoder.counters)
    }

    func trades(_ events: [MassiveEvent]) -> [Trade] {
        events.compactMap { if case .record(.trade(let t)) = $0 { t } else { nil } }
    }

    @Test func statusesMixedWithEvents() {
        let (events, counters) = decode("""
            [{"ev":"status","status":"connected","message":"Connected Successfully"},
             {"ev":"T","sym":"AAPL","p":1,"s":1,"t":1},
             {"ev":"status","status":"error","message":"not \\"authorized\\"\\n"}]
            """)
        #expect(events.count == 3)
        #expect(events[0] == .status(MassiveStatus(status: "connected", message: "Connected Successfully")))
        #expect(events[2] == .status(MassiveStatus(status: "error", message: "not \"authorized\"\n")))
        #expect(counters.statuses == 2 && counters.records == 1 && counters.events == 3)
    }

    /// The one unescaper (JSONText): a surrogate pair is one scalar; what is not a valid escape
    /// becomes U+FFFD in a status message instead of failing it.
    @Test func statusEscapesResolveLikeEveryOtherJSONReader() {
        let (events, _) = decode(#"""
            [{"ev":"status","status":"info","message":"\ud83d\ude00 \u00e9 \x \ud83d alone"}]
            """#)
        #expect(events == [.status(MassiveStatus(status: "info", message: "😀 é \u{FFFD} \u{FFFD} alone"))])
        #expect((try? JSONValue.parse(#""\ud83d\ude00""#)) == .string("😀"))
        #expect(throws: JSONParseError.self) { try JSONValue.parse(#""\ud83d alone""#) }
    }

    /// The same trade with a cut field counts the same on both APIs (the REST side is in
    /// PageParserTests.trades).
    @Test func cutFieldsAreCounted() {
        let (events, counters) = decode(#"""
            [{"ev":"T","sym":"A","p":1,"s":1,"t":1,"c":[1,2,3,4,5,6],"i":"this-id-is-longer-than-twenty-four-bytes"}]
            """#)
        #expect(trades(events).first?.conditions.codes == [1, 2, 3, 4])
        #expect(trades(events).first?.tradeID.isEmpty == true)
        #expect(counters.problems == [.conditionsTruncated: 1, .tradeIDTooLong: 1])
    }

    @Test func typeVariantsMassiveIsKnownFor() {
        let (events, counters) = decode("""
            [{"ev":"T","sym":"A","i":52983525029461,"x":"12","p":"10.5","s":1.5e2,"t":1536036818784},
             {"ev":"T","sym":"B","ds":"0.123456","s":0,"p":1e-5,"t":1536036818784123},
             {"ev":"T","sym":"C","p":2,"s":3,"t":1536036818784123456,"c":[ 37 , 12,14,41 ]}]
            """)
        #expect(counters.problemTotal == 0)
        let t = trades(events)
        #expect(t.count == 3)
        #expect(t[0].tradeID == "52983525029461" && t[0].exchange == 12 && t[0].price == Price(raw: 10_500_000_000) && t[0].size == 150)
        #expect(t[1].size == 0.123456 && t[1].price == Price(raw: 10_000))
        #expect(t[1].header.tsEvent == 1_536_036_818_784_123_000)
        #expect(t[2].header.tsEvent == 1_536_036_818_784_123_456)
        #expect(t[2].conditions.codes == [37, 12, 14, 41])
    }

    @Test func decimalVolumesOnBars() {
        let (events, counters) = decode("""
            [{"ev":"AM","sym":"X","v":1.029145e+06,"o":1,"h":2,"l":0.5,"c":1.5,"s":1610144640000,"e":1610144700000},
             {"ev":"A","sym":"Y","v":4989,"dv":"4989.5","o":1,"h":1,"l":1,"c":1,"s":1610144640000}]
            """)
        #expect(counters.problemTotal == 0)
        let bars = events.compactMap { if case .record(.bar(let b)) = $0 { b } else { nil } }
        #expect(bars.map(\.volume) == [1_029_145, 4989.5])
    }

    @Test func futuresDollarValueIsNotVolume() {
        let (events, _) = decode(
            #"[{"ev":"AM","sym":"ESZ5","v":120,"dv":815000.25,"n":37,"o":1,"h":1,"l":1,"c":1,"s":1}]"#, .futures)
        guard case .record(.bar(let b))? = events.first else { Issue.record("no bar"); return }
        #expect(b.volume == 120 && b.tradeCount == 37)
    }

    @Test func badElementsAreCountedAndTheRestKept() {
        let (events, counters) = decode("""
            [{"ev":"T","sym":"OK1","p":1,"s":1,"t":1},
             {"ev":"T","p":1,"s":1,"t":1},
             {"ev":"T","sym":"BAD SYM","p":1,"s":1,"t":1},
             {"ev":"T","sym":"WAYTOOLONGSYMBOLFORTHERECORDFIELD","p":1,"s":1,"t":1},
             {"ev":"T","sym":"X","p":"abc","s":1,"t":1},
             {"ev":"T","sym":"X","p":1,"s":1},
             {"ev":"T","sym":"X","p":1,"s":1,"t":1,"x":70000},
             {"ev":"T","sym":"X","p":1,"s":1,"t":1,"c":[1,2,3,4,5]},
             {"ev":"T","sym":"X","p":1,"s":1,"t":1,"i":"0123456789012345678901234567"},
             {"sym":"X"},
             {"ev":"ZZ","sym":"X"},
             {"ev":"T","sym":"OK2","p":1,"s":1,"t":1}]
            """)
        #expect(trades(events).map(\.header.symbol.description) == ["OK1", "X", "X", "OK2"])
        #expect(counters.problems[.missingField] == 2)
        #expect(counters.problems[.badSymbol] == 2)
        #expect(counters.problems[.badValue] == 1)
        #expect(counters.problems[.outOfRange] == 1)
        #expect(counters.problems[.conditionsTruncated] == 1)
        #expect(counters.problems[.tradeIDTooLong] == 1)
        #expect(counters.problems[.missingEv] == 1)
        #expect(counters.unpublished == ["ZZ": 1])
        #expect(counters.events == 12)
    }

    /// Numbers that parse but do not fit their field are refused and counted, never wrapped,
    /// clamped or published as infinity.
    @Test func outOfRangeValuesAreRefusedAndCounted() {
        let (events, counters) = decode("""
            [{"ev":"T","sym":"A","p":1,"s":1,"t":9999999999},
             {"ev":"T","sym":"A","p":1,"s":1,"t":-9999999999},
             {"ev":"T","sym":"A","p":1,"s":1,"t":9999999999999},
             {"ev":"T","sym":"A","p":1,"s":1,"t":1,"z":300},
             {"ev":"T","sym":"A","p":1,"s":1,"t":1,"z":-1},
             {"ev":"T","sym":"A","p":1,"s":1e400,"t":1},
             {"ev":"Q","sym":"A","bp":1,"ap":1,"bs":-1e309,"t":1},
             {"ev":"A","sym":"A","o":1,"h":1,"l":1,"c":1,"v":1,"n":-3,"s":1},
             {"ev":"T","sym":"OK","p":1,"s":1,"t":9223372036,"z":255}]
            """)
        #expect(counters.problems[.outOfRange] == 8)
        #expect(counters.problemTotal == 8)
        let t = trades(events)
        #expect(t.map(\.header.symbol.description) == ["OK"])
        #expect(t.first?.header.tsEvent == 9_223_372_036_000_000_000)
        #expect(t.first?.tape == 255)
    }

    /// An upstream that sends thousands of distinct unknown `ev` codes cannot grow the counters
    /// (or the status record that carries them) without bound.
    @Test func distinctUnknownCodesAreBounded() {
        var decoder = MassiveDecoder(market: .stocks)
        for i in 0..<6000 {
            let frame = Array(#"{"ev":"Z\#(i)","sym":"X"}"#.utf8)
            frame.withUnsafeBytes { decoder.decode($0, receivedAt: 0) { _ in } }
        }
        let unpublished = decoder.counters.unpublished
        #expect(unpublished.count == DecodeCounters.maxUnpublishedCodes + 1)
        #expect(unpublished["(other)"] == UInt64(6000 - DecodeCounters.maxUnpublishedCodes))
        #expect(unpublished.values.reduce(0, +) == 6000)
        var total = DecodeCounters()
        total.add(decoder.counters)
        total.add(decoder.counters)
        #expect(total.unpublished.count == DecodeCounters.maxUnpublishedCodes + 1)
        #expect(total.unpublished.values.reduce(0, +) == 12000)
    }

    @Test func malformedFramesKeepWhatCameBefore() {
        let (events, counters) = decode(#"[{"ev":"T","sym":"A","p":1,"s":1,"t":1},{"ev":"T","sym":"B","p":1,"#)
        #expect(trades(events).count == 1)
        #expect(counters.problems[.malformedJSON] == 1)

        for bad in ["", "   ", "nope", "[1,2]", "{\"ev\":", "]", "[{]", "[{\"ev\":\"T\"}}", "\"text\"", "[{\"a\":tru}]"] {
            let (events, counters) = decode(bad)
            #expect(events.isEmpty, "\(bad)")
            #expect(counters.problemTotal >= 1, "\(bad)")
        }
    }

    @Test func singleObjectFrame() {
        let (events, _) = decode(#"{"ev":"status","status":"auth_success","message":"authenticated"}"#)
        #expect(events == [.status(MassiveStatus(status: "auth_success", message: "authenticated"))])
    }

    @Test func randomBytesNeverTrap() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let alphabet = Array(#"[]{}",:0123456789.-eE tTQAMsympcxiqv\"#.utf8)
        let seed = Array(#"[{"ev":"T","sym":"MSFT","x":4,"i":"12345","z":3,"p":114.125,"s":100,"c":[0,12],"t":1536036818784,"q":3681328}]"#.utf8)
        for round in 0..<5000 {
            var bytes: [UInt8]
            switch round % 3 {
            case 0:
                bytes = (0..<Int(next() % 200)).map { _ in UInt8(truncatingIfNeeded: next()) }
            case 1:
                bytes = (0..<Int(next() % 200)).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] }
            default:
                bytes = seed
                for _ in 0..<1 + Int(next() % 4) {
                    bytes[Int(next() % UInt64(bytes.count))] = alphabet[Int(next() % UInt64(alphabet.count))]
                }
                bytes = Array(bytes.prefix(Int(next() % UInt64(bytes.count + 1))))
            }
            let (_, counters) = decode(bytes)
            #expect(counters.frames == 1)
        }
    }
}
