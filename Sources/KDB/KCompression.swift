/// q IPC compression (kdb+'s LZ scheme keyed by the XOR of two bytes, published in javakdb's
/// `c.java`). Works on whole messages, 8-byte header included.
public enum KCompression {
    /// Decompresses a message whose header byte 2 is 1. `maxLength` bounds the announced
    /// uncompressed length. Every read and back-reference is checked: bad input throws.
    public static func decompress(_ message: UnsafeRawBufferPointer, maxLength: Int) throws(KError) -> [UInt8] {
        guard message.count >= 12 else { throw .truncated }
        let little = message[0] == 1
        let raw = message.loadUnaligned(fromByteOffset: 8, as: Int32.self)
        let ulen = Int(little ? Int32(littleEndian: raw) : Int32(bigEndian: raw))
        // One input byte yields at most 128.5 output bytes (a 2-byte reference copies 257), so a
        // length beyond that is a lie: refuse it before allocating.
        guard ulen > 8 && ulen <= maxLength && ulen <= 8 + (message.count - 12) * 129 else { throw .badLength(ulen) }
        var out = [UInt8](repeating: 0, count: ulen)
        let ok = out.withUnsafeMutableBufferPointer { out -> Bool in
            for k in 0..<4 { out[k] = message[k] }
            out[2] = 0
            let length = Int32(ulen)
            withUnsafeBytes(of: little ? length.littleEndian : length.bigEndian) { for k in 0..<4 { out[4 + k] = $0[k] } }
            var table = [Int](repeating: 0, count: 256)
            var s = 8, p = 8, d = 12, i = 0, f = 0
            let end = message.count
            while s < ulen {
                if i == 0 {
                    guard d < end else { return false }
                    f = Int(message[d]); d += 1; i = 1
                }
                var n = 0
                let match = f & i != 0
                if match {
                    guard d + 1 < end else { return false }
                    var r = table[Int(message[d])]; d += 1
                    guard r + 1 < s, s + 2 <= ulen else { return false }
                    out[s] = out[r]; out[s + 1] = out[r + 1]
                    s += 2; r += 2
                    n = Int(message[d]); d += 1
                    guard s + n <= ulen else { return false }
                    for m in 0..<n { out[s + m] = out[r + m] }
                } else {
                    guard d < end else { return false }
                    out[s] = message[d]; s += 1; d += 1
                }
                while p < s - 1 {
                    table[Int(out[p] ^ out[p + 1])] = p
                    p += 1
                }
                if match { s += n; p = s }
                i = (i << 1) & 0xFF
            }
            return true
        }
        guard ok else { throw .badCompression }
        return out
    }

    /// Compresses a message (header included) the way kdb+ does, byte for byte; nil when the
    /// result would not be under half the original (q then sends it uncompressed) or the
    /// message is 2000 bytes or less.
    public static func compress(_ y: UnsafeRawBufferPointer, minimumLength: Int = 2001) -> [UInt8]? {
        let t = y.count
        guard t >= minimumLength && t >= 16 else { return nil }
        var b = [UInt8](repeating: 0, count: t / 2)
        let e = b.count
        let length: Int? = b.withUnsafeMutableBufferPointer { b -> Int? in
            for k in 0..<4 { b[k] = y[k] }
            b[2] = 1
            withUnsafeBytes(of: Int32(t).littleEndian) { for k in 0..<4 { b[8 + k] = $0[k] } }
            var table = [Int](repeating: 0, count: 256)
            var i = 0, f = 0, h0 = 0, h = 0, c = 12, d = 12, s0 = 0, s = 8
            while s < t {
                if i == 0 {
                    if d > e - 17 { return nil }
                    i = 1
                    b[c] = UInt8(f); c = d; d += 1; f = 0
                }
                var literal = s > t - 3
                var p = 0
                if !literal {
                    h = Int(y[s] ^ y[s + 1])
                    p = table[h]
                    literal = p == 0 || y[s] != y[p]
                }
                if s0 > 0 { table[h0] = s0; s0 = 0 }
                if literal {
                    h0 = h; s0 = s
                    b[d] = y[s]; d += 1; s += 1
                } else {
                    table[h] = s
                    f |= i
                    p += 2; s += 2
                    let r = s
                    let q = min(s + 255, t)
                    while s < q && y[p] == y[s] { s += 1; p += 1 }
                    b[d] = UInt8(h); b[d + 1] = UInt8(s - r); d += 2
                }
                i = (i << 1) & 0xFF
            }
            b[c] = UInt8(f)
            withUnsafeBytes(of: Int32(d).littleEndian) { for k in 0..<4 { b[4 + k] = $0[k] } }
            return d
        }
        guard let length else { return nil }
        return Array(b[0..<length])
    }
}
