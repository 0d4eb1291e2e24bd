// Deterministic randomness for the synthetic market.
//
// Everything the simulator generates is a pure function of (seed, symbol, time): a SplitMix64
// stream per (symbol, second) and counter-based hashes for the price path. Swift's `Hasher` and
// `SystemRandomNumberGenerator` are never used for data (the first is salted per process).

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for a market simulator.
@usableFromInline
struct SplitMix64: Sendable {
    @usableFromInline var state: UInt64

    @inlinable init(seed: UInt64) { self.state = seed }

    @inlinable @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z &>> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z &>> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z &>> 31)
    }

    @inlinable @inline(__always)
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// Uniform in [0, 1).
    @inlinable @inline(__always)
    mutating func nextDouble() -> Double { Double(next() &>> 11) * 0x1.0p-53 }

    /// Uniform in 0..<n (Lemire's multiply-high, bias below 2^-32 for the small n used here).
    @inlinable @inline(__always)
    mutating func next(below n: UInt64) -> UInt64 { next().multipliedFullWidth(by: n).high }

    /// Approximately standard normal (Irwin-Hall of four 16-bit uniforms, rescaled).
    @inlinable @inline(__always)
    mutating func nextGaussian() -> Double { gaussian(fromBits: next()) }
}

/// Hash of several words: stable across processes and platforms.
@inlinable @inline(__always)
func hashWords(_ a: UInt64, _ b: UInt64) -> UInt64 {
    SplitMix64.mix(a &+ SplitMix64.mix(b &+ 0x9E37_79B9_7F4A_7C15))
}

@inlinable @inline(__always)
func hashWords(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
    hashWords(hashWords(a, b), c)
}

/// Approximately N(0,1) from 64 random bits: the sum of four 16-bit uniforms has mean 2 and
/// variance 1/3; tails are cut at ±3.46, which a synthetic market does not miss.
@inlinable @inline(__always)
func gaussian(fromBits h: UInt64) -> Double {
    let s = (h & 0xFFFF) + ((h &>> 16) & 0xFFFF) + ((h &>> 32) & 0xFFFF) + (h &>> 48)
    return (Double(s) * (1.0 / 65536.0) - 2.0) * 1.7320508075688772
}

/// FNV-1a over UTF-8, then mixed: a stable 64-bit key for a symbol name.
func stableHash(_ string: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in string.utf8 {
        h ^= UInt64(byte)
        h = h &* 0x0000_0100_0000_01B3
    }
    return SplitMix64.mix(h)
}
