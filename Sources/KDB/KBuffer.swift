/// A growable little-endian byte buffer that is reused across messages: `removeAll()` keeps the
/// capacity, so encoding a batch allocates nothing once the buffer has grown to its size.
public final class KBuffer {
    private var storage: ByteStorage

    public init(capacity: Int = 4096) {
        storage = ByteStorage(capacity: max(capacity, 64))
    }

    deinit { storage.deallocate() }

    public var count: Int { storage.count }
    public var capacity: Int { storage.capacity }

    /// Forgets the contents and keeps the memory.
    @inline(__always)
    public func removeAll() { storage.count = 0 }

    /// Makes room for `n` more bytes.
    @inline(__always)
    public func reserve(_ n: Int) { storage.reserve(n) }

    @inline(__always)
    public func append<T: FixedWidthInteger>(_ value: T) { storage.append(value) }

    /// Appends without checking capacity; the caller has called ``reserve(_:)``.
    @inline(__always)
    public func appendUnchecked<T: FixedWidthInteger>(_ value: T) { storage.appendUnchecked(value) }

    @inline(__always)
    public func append(_ value: Double) { storage.append(value) }

    @inline(__always)
    public func append(_ value: Float) { storage.append(value.bitPattern) }

    public func append(bytes: UnsafeRawBufferPointer) { storage.append(bytes: bytes) }

    public func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { storage.append(bytes: $0) }
    }

    /// Overwrites 4 bytes at `offset` (for a length patched after serialising).
    public func setInt32(_ value: Int32, at offset: Int) {
        precondition(offset >= 0 && offset + 4 <= count)
        storage.base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: Int32.self)
    }

    /// Drops the last `n` bytes.
    public func removeLast(_ n: Int) {
        precondition(n <= count)
        storage.count -= n
    }

    /// The contents, valid until the next mutation.
    public var bytes: UnsafeRawBufferPointer { storage.bytes }

    /// A copy of the contents.
    public var array: [UInt8] { Array(bytes) }
}
