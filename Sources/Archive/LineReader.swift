#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file line by line through one reusable buffer: no allocation per line, memory
/// bounded by the buffer (lines longer than it are refused).
public final class LineReader {
    public let path: String
    private let fd: Int32
    private var buffer: UnsafeMutableRawBufferPointer

    public init(path: String, bufferSize: Int = 1 << 22) throws(FileError) {
        self.path = path
        fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileError(path, errno, "cannot open") }
        buffer = .allocate(byteCount: bufferSize, alignment: 8)
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    /// Calls `body` with each line (without `\n` or `\r\n`) and its 1-based number.
    public func forEachLine<E: Error>(
        _ body: (UnsafeRawBufferPointer, Int) throws(E) -> Void
    ) throws(LineReaderError<E>) {
        var filled = 0
        var number = 0
        var atEnd = false
        while !atEnd {
            let n = read(fd, buffer.baseAddress! + filled, buffer.count - filled)
            guard n >= 0 else { throw .file(FileError(path, errno, "cannot read")) }
            atEnd = n == 0
            filled += n
            var lineStart = 0
            let base = buffer.baseAddress!
            while lineStart < filled, let found = memchr(base + lineStart, 0x0A, filled - lineStart) {
                let i = base.distance(to: found)
                number += 1
                var end = i
                if end > lineStart, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                do {
                    try body(UnsafeRawBufferPointer(rebasing: buffer[lineStart..<end]), number)
                } catch {
                    throw .body(error)
                }
                lineStart = i + 1
            }
            if atEnd, lineStart < filled {
                number += 1
                do {
                    try body(UnsafeRawBufferPointer(rebasing: buffer[lineStart..<filled]), number)
                } catch {
                    throw .body(error)
                }
                lineStart = filled
            }
            guard lineStart > 0 || filled < buffer.count || atEnd else {
                throw .file(FileError(path, 0, "line \(number + 1) is longer than \(buffer.count) bytes"))
            }
            let rest = filled - lineStart
            if rest > 0, lineStart > 0 {
                (buffer.baseAddress! + 0).copyMemory(from: buffer.baseAddress! + lineStart, byteCount: rest)
            }
            filled = rest
        }
    }
}

public enum LineReaderError<E: Error>: Error {
    case file(FileError)
    case body(E)
}

/// A failed file operation, with its path and the system's reason.
public struct FileError: Error, Equatable, Sendable, CustomStringConvertible {
    public let path: String
    public let code: Int32
    public let what: String

    public init(_ path: String, _ code: Int32, _ what: String) {
        self.path = path
        self.code = code
        self.what = what
    }

    public var description: String {
        code == 0 ? "\(path): \(what)" : "\(path): \(what): \(String(cString: strerror(code)))"
    }
}
