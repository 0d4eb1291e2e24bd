import CZlib

/// CRC-32 as zlib computes it (polynomial 0xEDB88320, reflected, initial and final xor
/// 0xFFFFFFFF): zlib's own `crc32_z`, several times faster than a slicing-by-8 table loop, so any
/// reader can check a journal with `zlib.crc32`.
public enum CRC32 {
    /// The checksum of `bytes`, continuing from `crc` (0 to start).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return crc }
        return UInt32(truncatingIfNeeded: crc32_z(UInt(crc), base.assumingMemoryBound(to: UInt8.self), bytes.count))
    }

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}
