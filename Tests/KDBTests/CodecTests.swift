import Foundation
import TestSupport
import Testing
import TickBusCore
@testable import KDB

/// Runs CPU-heavy test work on a thread of its own, so that it never holds one of the two
/// threads of Swift Testing's cooperative pool (other suites' async waits need them).
/// Expectations are checked on the result, in the test's own task.
func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { (done: CheckedContinuation<T, Never>) in
        Thread { done.resume(returning: body()) }.start()
    }
}

@Suite struct CodecTests {
    /// Every sample value survives encode → decode unchanged (NaN compared by bits via KJSON).
    @Test func samplesRoundTrip() throws {
        for (name, bytes, value) in KSamples.messages() {
            let (type, decoded) = try KMessage.decode(bytes)
            #expect(type == (name == "error response" ? .response : .async), "\(name)")
            #expect(KJSON.render(decoded) == KJSON.render(value), "\(name)")
        }
    }

    /// The fast column path writes exactly the bytes the generic writer writes for the same rows.
    @Test(arguments: [0, 1, 3, 257])
    func batchMatchesGenericWriter(rows: Int) throws {
        let trades = KSamples.trades(rows), quotes = KSamples.quotes(rows), bars = KSamples.bars(rows)
        let t = TickBatch(table: .trade, capacity: 1), q = TickBatch(table: .quote), b = TickBatch(table: .bar)
        // Reused batches: fill twice, the first round discarded, to check removeAll.
        for _ in 0..<2 {
            for batch in [t, q, b] { batch.removeAll() }
            for x in trades { t.append(x) }
            for x in quotes { q.append(x) }
            for x in bars { b.append(x.bar, source: try FixedString(x.source)) }
        }
        let expected: [(TickBatch, [KValue])] = [
            (t, TickRows.columns(trades)), (q, TickRows.columns(quotes)),
            (b, TickRows.columns(bars.map(\.bar), sources: bars.map(\.source))),
        ]
        for (batch, columns) in expected {
            #expect(batch.rows == rows)
            let upd = KBuffer(capacity: 1)
            batch.encodeUpd(into: upd)
            #expect(upd.array == (try KMessage.encode(TickRows.upd(batch.name, columns))))
            let pub = KBuffer()
            batch.encodeTable(time: 123, into: pub)
            #expect(pub.array == (try KMessage.encode(TickRows.published(batch.table, name: batch.name, time: 123, columns))))
            // tick.q's rule: the first column of the .u.upd data is not a timespan, so the
            // tickerplant prepends its own `time` and the column count then matches the schema.
            guard case .list(let items, _) = try KMessage.decode(upd.array).1, case .list(let cols, _) = items[2] else {
                Issue.record("not a .u.upd list")
                continue
            }
            #expect(cols.count == batch.table.columns.count - 1)
            if case .vector(let type, _, _) = cols[0] { #expect(type == .symbol) }
        }
    }

    @Test func historicalTableNames() {
        #expect(TickBatch(table: .trade, historical: true).name == "tradeHist")
        #expect(TickTable.bar.name() == "bar")
    }

    @Test func trickyValues() throws {
        #expect(throws: KError.invalidValue("a symbol may not contain NUL")) {
            try KMessage.encode(.symbol("a\u{0}b"))
        }
        #expect(throws: KError.self) { try KMessage.encode(.vector(.long, .ints([1]))) }
        // Big-endian messages decode too.
        let be: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0x11, 0xF9, 0, 0, 0, 0, 0, 0, 0, 42]
        #expect(try KMessage.decode(be).1 == .long(42))
        // Epoch conversions.
        #expect(KEpoch.timestamp(unixNanoseconds: 1_714_570_200_123_456_789) == 767_885_400_123_456_789)
        #expect(KEpoch.timestamp(unixNanoseconds: .min) == .min)
    }

    @Test func compressionRoundTrip() throws {
        let value = KValue.list([.symbols(Array(repeating: "AAPL", count: 2000)), .vector(.long, .longs((0..<3000).map { Int64($0 / 7) }))])
        let buffer = KBuffer()
        try KMessage.encode(value, type: .sync, into: buffer)
        let plain = buffer.array
        KMessage.compressIfWorthIt(buffer)
        #expect(buffer.count < plain.count / 2)
        #expect(buffer.array[2] == 1)
        let (type, decoded) = try KMessage.decode(buffer.array)
        #expect(type == .sync)
        #expect(decoded == value)
        // Incompressible or small messages stay as they are.
        let small = KBuffer()
        try KMessage.encode(.long(1), type: .async, into: small)
        KMessage.compressIfWorthIt(small)
        #expect(small.array == (try KMessage.encode(.long(1))))
    }
}

/// Untrusted bytes: random, truncated and mutated messages either decode or throw; nothing traps,
/// nothing allocates from an unchecked count.
@Suite struct KDBFuzzTests {
    static var corpus: [[UInt8]] {
        KSamples.messages().filter { $0.bytes.count < 20_000 }.map(\.bytes)
            + FixtureTests.realQ.map(\.message) + FixtureTests.kx.map(\.message)
    }

    @Test func truncatedMessagesThrow() async {
        let (cuts, accepted) = await offPool { Self.truncate() }
        #expect(cuts > 1000)
        #expect(accepted == 0)
    }

    /// Every cut of every corpus message: how many cuts, and how many decoded (none may).
    static func truncate() -> (cuts: Int, accepted: Int) {
        var cuts = 0, accepted = 0
        for message in corpus {
            for cut in stride(from: 0, to: message.count, by: max(1, message.count / 16)) {
                cuts += 1
                if (try? KMessage.decode(Array(message[..<cut]))) != nil { accepted += 1 }
                // The same prefix with its length field patched to match: the object is cut short.
                if cut >= 9 {
                    var patched = Array(message[..<cut])
                    withUnsafeBytes(of: UInt32(cut).littleEndian) { for k in 0..<4 { patched[4 + k] = $0[k] } }
                    _ = try? KMessage.decode(patched)
                }
            }
        }
        return (cuts, accepted)
    }

    @Test func mutatedMessagesNeverTrap() async {
        let (decoded, rejected) = await offPool { Self.mutate(rounds: 12_000) }
        #expect(decoded + rejected == 12_000)
        #expect(rejected > 0)
    }

    /// Random byte changes and insertions, the length field kept consistent.
    static func mutate(rounds: Int) -> (decoded: Int, rejected: Int) {
        var rng = SplitMix64(seed: 42)
        let corpus = corpus
        var decoded = 0, rejected = 0
        for _ in 0..<rounds {
            var m = corpus[rng.below(corpus.count)]
            for _ in 0..<(1 + rng.below(4)) {
                let i = 8 + rng.below(max(1, m.count - 8))
                if i < m.count {
                    switch rng.below(4) {
                    case 0: m[i] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: m[i] ^= 0x80
                    case 2: m[i] = [0x00, 0x7F, 0x80, 0xFF, 0x62, 0x63, 0x0B][rng.below(7)]
                    default: m.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
                    }
                }
            }
            withUnsafeBytes(of: UInt32(m.count).littleEndian) { for k in 0..<4 { m[4 + k] = $0[k] } }
            if (try? KMessage.decode(m)) != nil { decoded += 1 } else { rejected += 1 }
        }
        return (decoded, rejected)
    }

    @Test func randomBytesNeverTrap() async {
        let decoded = await offPool { () -> Int in
            var rng = SplitMix64(seed: 7)
            var decoded = 0
            for _ in 0..<10_000 {
                let n = 8 + rng.below(64)
                var m = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                m[0] = UInt8(rng.below(2)); m[1] = UInt8(rng.below(3)); m[2] = UInt8(rng.below(2)); m[3] = 0
                withUnsafeBytes(of: UInt32(n).littleEndian) { for k in 0..<4 { m[4 + k] = $0[k] } }
                if (try? KMessage.decode(m)) != nil { decoded += 1 }
            }
            return decoded
        }
        #expect(decoded < 10_000)
    }

    @Test func hostileCountsAndLengths() {
        // A vector claiming 2^31-1 longs in a 20-byte message: rejected before any allocation.
        let huge: [UInt8] = [1, 0, 0, 0, 20, 0, 0, 0, 7, 0, 0xFF, 0xFF, 0xFF, 0x7F, 0, 0, 0, 0, 0, 0]
        #expect(throws: KError.truncated) { try KMessage.decode(huge) }
        // A negative count.
        let negative: [UInt8] = [1, 0, 0, 0, 14, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]
        #expect(throws: KError.badCount(-1)) { try KMessage.decode(negative) }
        // 100 nested lists of one item: too deep.
        var nested: [UInt8] = [1, 0, 0, 0, 0, 0, 0, 0]
        for _ in 0..<100 { nested += [0, 0, 1, 0, 0, 0] }
        nested += [0xF9, 1, 0, 0, 0, 0, 0, 0, 0]
        withUnsafeBytes(of: UInt32(nested.count).littleEndian) { for k in 0..<4 { nested[4 + k] = $0[k] } }
        #expect(throws: KError.tooDeep) { try KMessage.decode(nested) }
        // A header announcing more than the limit.
        #expect(throws: KError.badLength(Int(UInt32.max))) { try KMessage.decode([1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xF5, 0]) }
        // Unknown types, enumerations included.
        #expect(throws: KError.unknownType(20)) { try KMessage.decode([1, 0, 0, 0, 14, 0, 0, 0, 20, 0, 0, 0, 0, 0]) }
        #expect(throws: KError.unknownType(-3)) { try KMessage.decode([1, 0, 0, 0, 10, 0, 0, 0, 0xFD, 0]) }
        // Compressed messages announcing a 2 GB output, or 100 MB from 16 bytes: refused before
        // allocating. And one whose back-reference points ahead.
        #expect(throws: KError.self) { try KMessage.decode([1, 0, 1, 0, 16, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0, 0, 0]) }
        #expect(throws: KError.badLength(100_000_000)) {
            try KMessage.decode([1, 0, 1, 0, 16, 0, 0, 0, 0x00, 0xE1, 0xF5, 0x05, 0xFF, 0, 0, 0])
        }
        #expect(throws: KError.badCompression) { try KMessage.decode([1, 0, 1, 0, 16, 0, 0, 0, 64, 0, 0, 0, 0x01, 0x10, 0x05, 0]) }
        // Trailing bytes.
        #expect(throws: KError.trailingBytes(1)) { try KMessage.decode([1, 0, 0, 0, 11, 0, 0, 0, 0xFF, 1, 0]) }
    }
}
