/// The message type in byte 1 of the header.
public enum KMessageType: UInt8, Sendable {
    /// `neg[h] x`: no reply.
    case async = 0
    /// `h x`: exactly one response.
    case sync = 1
    /// The reply to a sync message.
    case response = 2
}

/// The 8-byte header of every q IPC message.
public struct KMessageHeader: Equatable, Sendable {
    public static let size = 8
    public var littleEndian: Bool
    public var type: KMessageType
    public var compressed: Bool
    /// Total length, header included (the compressed length for a compressed message).
    public var length: Int

    /// Parses and validates the first 8 bytes. `maxLength` bounds the length a peer may announce.
    public init(_ bytes: UnsafeRawBufferPointer, maxLength: Int) throws(KError) {
        guard bytes.count >= 8 else { throw .truncated }
        guard bytes[0] <= 1 else { throw .badHeader("architecture byte \(bytes[0])") }
        guard let type = KMessageType(rawValue: bytes[1]) else { throw .badHeader("message type \(bytes[1])") }
        guard bytes[2] <= 1 else { throw .badHeader("compression byte \(bytes[2])") }
        guard bytes[3] == 0 else { throw .badHeader("byte 3 is \(bytes[3])") }
        littleEndian = bytes[0] == 1
        self.type = type
        compressed = bytes[2] == 1
        let raw = bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        length = Int(littleEndian ? UInt32(littleEndian: raw) : UInt32(bigEndian: raw))
        guard length >= 9 && length <= maxLength else { throw .badLength(length) }
    }
}

/// Whole q IPC messages: header + one object.
public enum KMessage {
    /// The default bound on a message from a peer: 256 MiB.
    public static let defaultMaxLength = 256 << 20

    /// Appends a complete message (header, object, patched length) to `out`.
    public static func encode(_ value: KValue, type: KMessageType, into out: KBuffer) throws(KError) {
        let start = out.count
        writeHeader(type: type, into: out)
        do {
            try KWriter.write(value, into: out)
        } catch {
            out.removeLast(out.count - start)
            throw error
        }
        try patchLength(from: start, in: out)
    }

    /// A complete message as a new array.
    public static func encode(_ value: KValue, type: KMessageType = .async) throws(KError) -> [UInt8] {
        let out = KBuffer(capacity: 256)
        try encode(value, type: type, into: out)
        return out.array
    }

    /// Appends an 8-byte header with a zero length, to be patched by ``patchLength(from:in:)``.
    @inline(__always)
    public static func writeHeader(type: KMessageType, into out: KBuffer) {
        out.append(UInt32(1) | UInt32(type.rawValue) << 8)
        out.append(UInt32(0))
    }

    /// Stores the length of the message that starts at `start` and ends at the buffer's end.
    public static func patchLength(from start: Int, in out: KBuffer) throws(KError) {
        let length = out.count - start
        guard length <= Int(Int32.max) else { throw .invalidValue("message of \(length) bytes") }
        out.setInt32(Int32(length), at: start + 4)
    }

    /// Decodes one complete message (exactly `header.length` bytes), decompressing if needed.
    /// Trailing bytes, truncation and any malformed object throw.
    public static func decode(_ bytes: UnsafeRawBufferPointer, maxLength: Int = defaultMaxLength) throws(KError) -> (KMessageType, KValue) {
        let header = try KMessageHeader(bytes, maxLength: maxLength)
        guard bytes.count == header.length else {
            throw bytes.count < header.length ? .truncated : .trailingBytes(bytes.count - header.length)
        }
        if header.compressed {
            let plain = try KCompression.decompress(bytes, maxLength: maxLength)
            var result: Result<KValue, KError> = .failure(.truncated)
            plain.withUnsafeBytes { raw in
                result = Result { () throws(KError) in try decodePayload(raw, littleEndian: header.littleEndian) }
            }
            return (header.type, try result.get())
        }
        return (header.type, try decodePayload(bytes, littleEndian: header.littleEndian))
    }

    /// Decodes a whole message held in an array.
    public static func decode(_ bytes: [UInt8], maxLength: Int = defaultMaxLength) throws(KError) -> (KMessageType, KValue) {
        var result: Result<(KMessageType, KValue), KError> = .failure(.truncated)
        bytes.withUnsafeBytes { raw in
            result = Result { () throws(KError) in try decode(raw, maxLength: maxLength) }
        }
        return try result.get()
    }

    static func decodePayload(_ bytes: UnsafeRawBufferPointer, littleEndian: Bool) throws(KError) -> KValue {
        var reader = KReader(bytes, littleEndian: littleEndian, position: KMessageHeader.size)
        let value = try reader.readObject()
        guard reader.remaining == 0 else { throw .trailingBytes(reader.remaining) }
        return value
    }

    /// Compresses a complete message held in `buffer` from `start` when kdb+ would (over 2000
    /// bytes and under half the size after), replacing it in place.
    public static func compressIfWorthIt(_ buffer: KBuffer, from start: Int = 0) {
        let message = UnsafeRawBufferPointer(rebasing: buffer.bytes[start...])
        guard let packed = KCompression.compress(message) else { return }
        buffer.removeLast(buffer.count - start)
        buffer.append(packed)
    }
}
