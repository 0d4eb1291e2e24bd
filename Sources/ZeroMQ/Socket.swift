import CZeroMQ

/// A ZeroMQ socket.
///
/// A socket is not thread-safe, so this type is deliberately not `Sendable`: Swift's
/// concurrency checking refuses to move it to another thread or task. Create it on the thread
/// that uses it and keep it there. Receives reuse one message buffer owned by the socket, so the
/// receive path does not allocate.
///
/// Sockets start with `LINGER` 0, so closing one never blocks on unsent messages.
public final class Socket {
    /// The context the socket belongs to; kept alive for as long as the socket.
    public let context: ZMQContext
    public let type: SocketType
    let handle: UnsafeMutableRawPointer
    private let message: UnsafeMutablePointer<zmq_msg_t>

    /// Creates a socket of `type` in `context`.
    public init(_ context: ZMQContext, _ type: SocketType) throws(ZMQError) {
        guard let socket = zmq_socket(context.handle, type.rawValue) else { throw ZMQError.last }
        self.context = context
        self.type = type
        self.handle = socket
        message = .allocate(capacity: 1)
        zmq_msg_init(message)
        try setOption(ZMQ_LINGER, 0)
    }

    deinit {
        zmq_msg_close(message)
        message.deallocate()
        zmq_close(handle)
    }

    // MARK: Endpoints

    /// Binds to an endpoint such as `tcp://127.0.0.1:7700`, `ipc:///tmp/bus` or `inproc://bus`.
    /// `tcp://localhost:P` binds the IPv4 loopback (libzmq would take `localhost` for the name of
    /// a network interface); an IPv6 literal (`tcp://[::1]:P`) turns `ZMQ_IPV6` on first.
    public func bind(_ endpoint: String) throws(ZMQError) {
        let address = try prepare(endpoint)
        _ = try retryingEINTR { zmq_bind(handle, address) }
    }

    /// Connects to an endpoint. libzmq connects (and reconnects) in the background. Addresses
    /// are read as by ``bind(_:)``.
    public func connect(_ endpoint: String) throws(ZMQError) {
        let address = try prepare(endpoint)
        _ = try retryingEINTR { zmq_connect(handle, address) }
    }

    /// The address libzmq is given for `endpoint`, with `ZMQ_IPV6` set when it needs it.
    private func prepare(_ endpoint: String) throws(ZMQError) -> String {
        var address = endpoint
        if address.hasPrefix("tcp://localhost:") { address = "tcp://127.0.0.1:" + address.dropFirst(16) }
        if address.hasPrefix("tcp://[") || address.contains(";[") { try setOption(ZMQ_IPV6, 1) }
        return address
    }

    public func unbind(_ endpoint: String) throws(ZMQError) {
        _ = try retryingEINTR { zmq_unbind(handle, endpoint) }
    }

    public func disconnect(_ endpoint: String) throws(ZMQError) {
        _ = try retryingEINTR { zmq_disconnect(handle, endpoint) }
    }

    /// The endpoint last bound, with the real port when bound to `tcp://host:*`.
    public var lastEndpoint: String {
        get throws(ZMQError) { try stringOption(ZMQ_LAST_ENDPOINT) }
    }

    // MARK: Sending

    /// Sends one frame. Returns `false` when `.dontWait` was given and the frame could not be
    /// queued now (high-water mark reached with `XPUB_NODROP`, or no peer for REQ/DEALER/PUSH).
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, flags: MessageFlags = []) throws(ZMQError) -> Bool {
        while true {
            let rc = zmq_send(handle, bytes.baseAddress, bytes.count, flags.rawValue)
            if rc >= 0 { return true }
            let err = zmq_errno()
            if err == EINTR { continue }
            if err == EAGAIN && flags.contains(.dontWait) { return false }
            throw ZMQError(code: err)
        }
    }

    /// Sends one frame of bytes.
    @discardableResult
    public func send(_ bytes: [UInt8], flags: MessageFlags = []) throws(ZMQError) -> Bool {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(ZMQError) in try send(buffer, flags: flags) }
        }.get()
    }

    /// Sends one frame holding the UTF-8 bytes of `string`.
    @discardableResult
    public func send(_ string: String, flags: MessageFlags = []) throws(ZMQError) -> Bool {
        try send(Array(string.utf8), flags: flags)
    }

    /// Sends a multipart message. With `.dontWait`, returns `false` if the first frame could not
    /// be queued; once the first frame is queued libzmq accepts the rest atomically.
    @discardableResult
    public func send(multipart frames: [[UInt8]], flags: MessageFlags = []) throws(ZMQError) -> Bool {
        for (index, frame) in frames.enumerated() {
            var frameFlags = flags
            if index < frames.count - 1 { frameFlags.insert(.sendMore) }
            if try !send(frame, flags: frameFlags) {
                precondition(index == 0, "libzmq refused a later frame of a multipart message")
                return false
            }
        }
        return true
    }

    // MARK: Receiving

    /// Receives one frame and passes its bytes to `body`, which must not keep the pointer.
    /// Returns `false` when no frame is available (`.dontWait`, or `RCVTIMEO` expired).
    public func receiveFrame(flags: MessageFlags = [], _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        while true {
            let rc = zmq_msg_recv(message, handle, flags.rawValue)
            if rc >= 0 { break }
            let err = zmq_errno()
            if err == EINTR { continue }
            if err == EAGAIN { return false }
            throw ZMQError(code: err)
        }
        try body(UnsafeRawBufferPointer(start: zmq_msg_data(message), count: zmq_msg_size(message)))
        return true
    }

    /// Receives one frame and returns what `body` makes of its bytes (`body` must not keep the
    /// pointer). Returns `nil` when no frame is available (`.dontWait`, or `RCVTIMEO` expired).
    @inlinable
    public func receive<R>(flags: MessageFlags = [], _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        var result: R?
        guard try receiveFrame(flags: flags, { result = try body($0) }) else { return nil }
        return result
    }

    /// Whether the frame last received is followed by more frames of the same message.
    public var hasMoreFrames: Bool { zmq_msg_more(message) != 0 }

    /// Receives one frame as a byte array, or `nil` if none is available.
    public func receiveBytes(flags: MessageFlags = []) throws -> [UInt8]? {
        try receive(flags: flags) { Array($0) }
    }

    /// Receives one frame as a string (invalid UTF-8 is repaired), or `nil` if none is available.
    public func receiveString(flags: MessageFlags = []) throws -> String? {
        try receive(flags: flags) { String(decoding: $0, as: UTF8.self) }
    }

    /// Receives every frame of one message, or `nil` if none is available.
    public func receiveMultipart(flags: MessageFlags = []) throws -> [[UInt8]]? {
        guard let first = try receiveBytes(flags: flags) else { return nil }
        var frames = [first]
        while hasMoreFrames {
            guard let next = try receiveBytes() else { break }
            frames.append(next)
        }
        return frames
    }

    // MARK: Events

    /// Whether a receive would not block right now.
    public var isReadable: Bool {
        get throws(ZMQError) { try intOption(ZMQ_EVENTS) & Int32(ZMQ_POLLIN) != 0 }
    }
}
