/// A growable little-endian byte buffer that is reused across messages: `removeAll()` keeps the
/// capacity, so encoding a batch allocates nothing once the buffer has grown to its size.
public final class KBuffer {
    public private(set) var count = 0
    public private(set) var capacity: Int
    @usableFromInline var base: UnsafeMutableRawPointer

    public init(capacity: Int = 4096) {
        self.capacity = max(capacity, 64)
        base = .allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    /// Forgets the contents and keeps the memory.
    @inline(__always)
    public func removeAll() { count = 0 }

    /// Makes room for `n` more bytes.
    @inline(__always)
    public func reserve(_ n: Int) {
        if count + n > capacity { grow(to: count + n) }
    }

    @inline(never)
    private func grow(to needed: Int) {
        var newCapacity = capacity
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    public func append<T: FixedWidthInteger>(_ value: T) {
        reserve(MemoryLayout<T>.size)
        base.storeBytes(of: value.littleEndian, toByteOffset: count, as: T.self)
        count += MemoryLayout<T>.size
    }

    /// Appends without checking capacity; the caller has called ``reserve(_:)``.
    @inline(__always)
    public func appendUnchecked<T: FixedWidthInteger>(_ value: T) {
        base.storeBytes(of: value.littleEndian, toByteOffset: count, as: T.self)
        count += MemoryLayout<T>.size
    }

    @inline(__always)
    public func append(_ value: Double) { append(value.bitPattern) }

    @inline(__always)
    public func append(_ value: Float) { append(value.bitPattern) }

    public func append(bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        reserve(bytes.count)
        (base + count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        count += bytes.count
    }

    public func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append(bytes: $0) }
    }

    /// Overwrites 4 bytes at `offset` (for a length patched after serialising).
    public func setInt32(_ value: Int32, at offset: Int) {
        precondition(offset >= 0 && offset + 4 <= count)
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: Int32.self)
    }

    /// Drops the last `n` bytes.
    public func removeLast(_ n: Int) {
        precondition(n <= count)
        count -= n
    }

    /// The contents, valid until the next mutation.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// A copy of the contents.
    public var array: [UInt8] { Array(bytes) }
}
