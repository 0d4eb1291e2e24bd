import KDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a socket operation failed.
public struct SocketError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var code: Int32
    public var description: String {
        code == 0 ? operation : "\(operation): \(String(cString: strerror(code)))"
    }
}

/// A blocking TCP socket owned by one thread at a time (plain POSIX, IPv4). Public for the
/// benchmarks' minimal tickerplant.
public final class TCPSocket: @unchecked Sendable {
    private(set) var fd: Int32

    init(fd: Int32) { self.fd = fd }

    deinit { close() }

    /// Connects to `host:port` (a dotted IPv4 address or a name), failing after `timeoutMs`.
    static func connect(host: String, port: UInt16, timeoutMs: Int32) throws -> TCPSocket {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let info = result else { throw SocketError(operation: "resolve \(host)", code: 0) }
        defer { freeaddrinfo(result) }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "socket", code: errno) }
        let s = TCPSocket(fd: fd)
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else { throw SocketError(operation: "connect", code: errno) }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&p, 1, timeoutMs) == 1 else { throw SocketError(operation: "connect timed out", code: 0) }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            guard err == 0 else { throw SocketError(operation: "connect", code: err) }
        }
        _ = fcntl(fd, F_SETFL, flags)
        s.setNoDelay()
        return s
    }

    /// A listening socket on `host:port` (port 0: any free port).
    public static func listen(host: String, port: UInt16) throws -> TCPSocket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "socket", code: errno) }
        let s = TCPSocket(fd: fd)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { throw SocketError(operation: "bad address \(host)", code: 0) }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw SocketError(operation: "bind \(host):\(port)", code: errno) }
        guard Glibc.listen(fd, 64) == 0 else { throw SocketError(operation: "listen", code: errno) }
        return s
    }

    /// The bound port.
    public var localPort: UInt16 {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return UInt16(bigEndian: addr.sin_port)
    }

    /// Waits up to `timeoutMs` for a connection; nil on timeout.
    public func accept(timeoutMs: Int32) throws -> (TCPSocket, String)? {
        guard try wait(for: POLLIN, timeoutMs: timeoutMs) else { return nil }
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let client = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(fd, $0, &len) }
        }
        guard client >= 0 else {
            if errno == EINTR || errno == EAGAIN || errno == ECONNABORTED { return nil }
            throw SocketError(operation: "accept", code: errno)
        }
        let s = TCPSocket(fd: client)
        s.setNoDelay()
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        inet_ntop(AF_INET, &addr.sin_addr, &text, socklen_t(INET_ADDRSTRLEN))
        let peer = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (s, "\(peer):\(UInt16(bigEndian: addr.sin_port))")
    }

    private func setNoDelay() {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Polls for `events`; true when ready, false on timeout.
    func wait(for events: Int32, timeoutMs: Int32) throws -> Bool {
        var p = pollfd(fd: fd, events: Int16(events), revents: 0)
        let rc = poll(&p, 1, timeoutMs)
        if rc < 0 {
            if errno == EINTR { return false }
            throw SocketError(operation: "poll", code: errno)
        }
        return rc > 0
    }

    /// Writes every byte (blocking). Never raises SIGPIPE.
    func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                throw SocketError(operation: "send", code: errno)
            }
            offset += n
        }
    }

    public func writeAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writeAll($0) }
    }

    /// Reads up to `buffer.count` bytes; 0 means the peer closed.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw SocketError(operation: "recv", code: errno)
        }
    }

    /// Reads what has arrived without waiting: nil when nothing has, 0 when the peer closed or the
    /// connection failed.
    func receiveNow(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
            if n >= 0 { return n }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK ? nil : 0
        }
    }

    func close() {
        if fd >= 0 {
            _ = Glibc.close(fd)
            fd = -1
        }
    }
}

/// Reads q IPC from a socket: the handshake and whole messages, with every length checked.
public struct KStreamReader {
    let socket: TCPSocket
    var buffer = [UInt8]()

    public init(socket: TCPSocket) { self.socket = socket }

    /// Reads exactly `n` bytes, waiting up to `timeoutMs` for each chunk (-1: forever).
    mutating func read(_ n: Int, timeoutMs: Int32) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        var got = 0
        while got < n {
            guard try socket.wait(for: POLLIN, timeoutMs: timeoutMs) else {
                throw SocketError(operation: got == 0 ? "timed out" : "timed out in the middle of a message", code: 0)
            }
            let r = try out.withUnsafeMutableBytes { try socket.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[got...])) }
            guard r > 0 else { throw SocketError(operation: got == 0 ? "peer closed" : "peer closed in the middle of a message", code: 0) }
            got += r
        }
        return out
    }

    /// The client's hello up to its NUL (at most `KHandshake.maxLength` bytes).
    public mutating func readHello(timeoutMs: Int32) throws -> [UInt8] {
        var hello: [UInt8] = []
        while true {
            let byte = try read(1, timeoutMs: timeoutMs)[0]
            if byte == 0 { return hello }
            hello.append(byte)
            guard hello.count <= 1024 else { throw SocketError(operation: "handshake longer than 1024 bytes", code: 0) }
        }
    }
}

extension KStreamReader {
    /// One whole message, or nil when none starts within `idleMs`. Once the first byte is there,
    /// each further chunk must come within `stallMs`. The header is validated (and its length
    /// bounded) before the body is read.
    public mutating func readMessage(maxLength: Int, idleMs: Int32, stallMs: Int32) throws -> [UInt8]? {
        guard try socket.wait(for: POLLIN, timeoutMs: idleMs) else { return nil }
        let header = try read(8, timeoutMs: stallMs)
        let parsed = try header.withUnsafeBytes { raw throws(KError) in try KMessageHeader(raw, maxLength: maxLength) }
        return header + (try read(parsed.length - 8, timeoutMs: stallMs))
    }
}
