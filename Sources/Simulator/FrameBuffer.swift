import NIOCore

/// A growable byte buffer for building JSON frames without allocation or bounds checks on the
/// hot path. Callers reserve room once per event (`ensure`) and then append freely.
struct FrameBuffer: ~Copyable {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    var count = 0
    /// Elements written in the current JSON array.
    var items = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 1024)
        self.base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    @inline(__always)
    mutating func ensure(_ n: Int) {
        if count + n > capacity { grow(count + n) }
    }

    private mutating func grow(_ needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        p.update(from: base, count: count)
        base.deallocate()
        base = p
        capacity = newCapacity
    }

    mutating func reset() {
        count = 0
        items = 0
    }

    @inline(__always)
    mutating func byte(_ b: UInt8) {
        base[count] = b
        count &+= 1
    }

    @inline(__always)
    mutating func bytes(_ src: UnsafeBufferPointer<UInt8>) {
        if let a = src.baseAddress { (base + count).update(from: a, count: src.count) }
        count &+= src.count
    }

    @inline(__always)
    mutating func raw(_ s: StaticString) {
        (base + count).update(from: s.utf8Start, count: s.utf8CodeUnitCount)
        count &+= s.utf8CodeUnitCount
    }

    /// Append text of any length (statuses, malformed frames): grows as needed.
    mutating func text(_ s: String) {
        var s = s
        s.withUTF8 { src in
            ensure(src.count)
            if let a = src.baseAddress { (base + count).update(from: a, count: src.count) }
            count &+= src.count
        }
    }

    @inline(__always)
    mutating func int(_ v: Int64) {
        if v < 0 {
            byte(UInt8(ascii: "-"))
            uint(UInt64(bitPattern: 0 &- v))
        } else {
            uint(UInt64(v))
        }
    }

    @inline(__always)
    mutating func uint(_ v: UInt64) {
        let n = decimalDigits(v)
        var p = base + count + n
        var x = v
        do {
            let pairs = digitPairs.utf8Start
            while x >= 100 {
                let (q, r) = x.quotientAndRemainder(dividingBy: 100)
                p -= 2
                p[0] = pairs[Int(r) &* 2]
                p[1] = pairs[Int(r) &* 2 &+ 1]
                x = q
            }
            if x >= 10 {
                p -= 2
                p[0] = pairs[Int(x) &* 2]
                p[1] = pairs[Int(x) &* 2 &+ 1]
            } else {
                p -= 1
                p[0] = UInt8(truncatingIfNeeded: x) &+ 48
            }
        }
        count &+= n
    }

    /// A fixed-point number as the shortest decimal: 23001 with 2 decimals → 230.01, 23000 → 230.
    @inline(__always)
    mutating func fixed(_ v: Int64, decimals: Int) {
        if decimals == 0 {
            int(v)
            return
        }
        var x = v
        if x < 0 {
            byte(UInt8(ascii: "-"))
            x = 0 &- x
        }
        let scale = pow10(decimals)
        let whole = x / scale
        var frac = x - whole * scale
        uint(UInt64(whole))
        if frac == 0 { return }
        var d = decimals
        while frac % 10 == 0 {
            frac /= 10
            d -= 1
        }
        byte(UInt8(ascii: "."))
        var p = base + count + d
        for _ in 0..<d {
            p -= 1
            p.pointee = UInt8(truncatingIfNeeded: frac % 10) &+ 48
            frac /= 10
        }
        count &+= d
    }

    @inline(__always)
    mutating func decimal(_ x: Double, decimals: Int) {
        fixed(Int64((x * Double(pow10(decimals))).rounded()), decimals: decimals)
    }

    /// Open a JSON array.
    mutating func beginArray() {
        reset()
        byte(UInt8(ascii: "["))
    }

    /// Comma before every element but the first.
    @inline(__always)
    mutating func element() {
        if items > 0 { byte(UInt8(ascii: ",")) }
        items &+= 1
    }

    /// Close the array and copy it out.
    mutating func finishArray() -> ByteBuffer {
        ensure(1)
        byte(UInt8(ascii: "]"))
        let buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: base, count: count))
        beginArray()
        return buffer
    }

    /// Copy everything written out and start again (for non-array bodies).
    mutating func take() -> ByteBuffer {
        let buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: base, count: count))
        reset()
        return buffer
    }

    var string: String { String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self) }
}

/// "00" "01" … "99".
/// (A static string: no lazy-initialisation check on the hot path.)
let digitPairs: StaticString =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

/// 10^n for n in 0...18.
@inline(__always)
func pow10(_ n: Int) -> Int64 {
    var r: Int64 = 1
    for _ in 0..<n { r &*= 10 }
    return r
}

@inline(__always)
func decimalDigits(_ v: UInt64) -> Int {
    if v < 10 { return 1 }
    if v < 100 { return 2 }
    if v < 1_000 { return 3 }
    if v < 10_000 { return 4 }
    if v < 100_000 { return 5 }
    if v < 1_000_000 { return 6 }
    if v < 10_000_000 { return 7 }
    if v < 100_000_000 { return 8 }
    if v < 1_000_000_000 { return 9 }
    if v < 10_000_000_000 { return 10 }
    if v < 100_000_000_000 { return 11 }
    if v < 1_000_000_000_000 { return 12 }
    if v < 10_000_000_000_000 { return 13 }
    if v < 100_000_000_000_000 { return 14 }
    if v < 1_000_000_000_000_000 { return 15 }
    if v < 10_000_000_000_000_000 { return 16 }
    if v < 100_000_000_000_000_000 { return 17 }
    if v < 1_000_000_000_000_000_000 { return 18 }
    if v < 10_000_000_000_000_000_000 { return 19 }
    return 20
}
