import TickBusCore

/// Lowercase hex, as the golden file stores bytes.
func hex(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Bytes from hex text; nil when the text is not an even number of hex digits.
func bytes(hex text: String) -> [UInt8]? {
    func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
    let utf8 = Array(text.utf8)
    guard utf8.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(utf8.count / 2)
    var i = 0
    while i < utf8.count {
        guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
        out.append(hi << 4 | lo)
        i += 2
    }
    return out
}

extension WireFormat {
    /// Decodes a record held in an array.
    static func decode(_ bytes: [UInt8]) throws(WireError) -> Record {
        try bytes.withUnsafeBytes { raw in
            Result { () throws(WireError) in try WireFormat.decode(raw) }
        }.get()
    }
}

extension Record {
    /// Whether any floating-point field is NaN (then `==` is false even against itself).
    var containsNaN: Bool {
        switch self {
        case .trade(let r): r.size.isNaN
        case .quote(let r): r.bidSize.isNaN || r.askSize.isNaN
        case .bar(let r): r.volume.isNaN
        case .status, .heartbeat: false
        }
    }

    /// Field-by-field bit equality, NaN included: the encodings are equal.
    func isBitwiseEqual(to other: Record) -> Bool {
        WireFormat.encode(self) == WireFormat.encode(other)
    }
}

/// A header for hand-built test records.
func testHeader(
    _ symbol: Symbol = "AAPL", market: Market = .stocks, flags: RecordFlags = [], sequence: UInt64 = 1
) -> RecordHeader {
    RecordHeader(
        market: market, flags: flags, epoch: 7, sequence: sequence, tsEvent: 1_704_205_800_000_000_000,
        tsRecv: 1_704_205_800_001_000_000, symbol: symbol)
}
