import CZeroMQ

extension Socket {
    /// Sets an integer option by its libzmq name (`ZMQ_SNDHWM`, ...).
    public func setOption(_ option: Int32, _ value: Int32) throws(ZMQError) {
        var value = value
        _ = try retryingEINTR { zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size) }
    }

    /// Sets a binary or string option by its libzmq name.
    public func setOption(_ option: Int32, bytes: [UInt8]) throws(ZMQError) {
        _ = try retryingEINTR {
            bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        }
    }

    /// Reads an integer option by its libzmq name.
    public func intOption(_ option: Int32) throws(ZMQError) -> Int32 {
        var value: Int32 = 0
        var size = MemoryLayout<Int32>.size
        _ = try retryingEINTR { zmq_getsockopt(handle, option, &value, &size) }
        return value
    }

    /// Reads a NUL-terminated string option by its libzmq name.
    public func stringOption(_ option: Int32) throws(ZMQError) -> String {
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        _ = try retryingEINTR { zmq_getsockopt(handle, option, &buffer, &size) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: Queues

    /// Inbound messages larger than this make libzmq drop the connection (`ZMQ_MAXMSGSIZE`);
    /// -1 means no limit.
    public func setMaxMessageSize(_ bytes: Int64) throws(ZMQError) {
        var value = bytes
        _ = try retryingEINTR { zmq_setsockopt(handle, ZMQ_MAXMSGSIZE, &value, MemoryLayout<Int64>.size) }
    }

    /// Messages queued per peer for sending before libzmq drops (PUB/XPUB) or blocks (others).
    /// 0 means unlimited.
    public func setSendHighWaterMark(_ messages: Int32) throws(ZMQError) {
        try setOption(ZMQ_SNDHWM, messages)
    }

    /// Messages queued per peer on receipt. 0 means unlimited.
    public func setReceiveHighWaterMark(_ messages: Int32) throws(ZMQError) {
        try setOption(ZMQ_RCVHWM, messages)
    }

    /// How long unsent messages are kept after close, in ms (-1 forever, 0 discard).
    public func setLinger(milliseconds: Int32) throws(ZMQError) {
        try setOption(ZMQ_LINGER, milliseconds)
    }

    /// Receive timeout in ms; after it a blocking receive returns `nil`. -1 waits forever.
    public func setReceiveTimeout(milliseconds: Int32) throws(ZMQError) {
        try setOption(ZMQ_RCVTIMEO, milliseconds)
    }

    /// Send timeout in ms; after it a blocking send throws ``ZMQError/again``.
    public func setSendTimeout(milliseconds: Int32) throws(ZMQError) {
        try setOption(ZMQ_SNDTIMEO, milliseconds)
    }

    /// Queue messages only to completed connections (`ZMQ_IMMEDIATE`).
    public func setImmediate(_ on: Bool) throws(ZMQError) {
        try setOption(ZMQ_IMMEDIATE, on ? 1 : 0)
    }

    // MARK: Subscriptions

    /// SUB: receive messages whose first frame starts with `prefix` (empty: everything).
    public func subscribe(_ prefix: [UInt8]) throws(ZMQError) {
        try setOption(ZMQ_SUBSCRIBE, bytes: prefix)
    }

    /// SUB: receive messages whose first frame starts with `prefix`.
    public func subscribe(_ prefix: String) throws(ZMQError) {
        try subscribe(Array(prefix.utf8))
    }

    /// SUB: remove one earlier ``subscribe(_:)-([UInt8])`` of `prefix`.
    public func unsubscribe(_ prefix: [UInt8]) throws(ZMQError) {
        try setOption(ZMQ_UNSUBSCRIBE, bytes: prefix)
    }

    public func unsubscribe(_ prefix: String) throws(ZMQError) {
        try unsubscribe(Array(prefix.utf8))
    }

    /// XPUB: block (or fail with `EAGAIN` under `.dontWait`) at the high-water mark instead of
    /// dropping silently.
    public func setXPubNoDrop(_ on: Bool) throws(ZMQError) {
        try setOption(ZMQ_XPUB_NODROP, on ? 1 : 0)
    }

    /// XPUB: pass every subscription message up, not only the first for each prefix.
    public func setXPubVerbose(_ on: Bool) throws(ZMQError) {
        try setOption(ZMQ_XPUB_VERBOSE, on ? 1 : 0)
    }

    /// ROUTER: fail a send to an unknown peer with `EHOSTUNREACH` (and one at the peer's
    /// high-water mark with `EAGAIN`) instead of dropping it silently.
    public func setRouterMandatory(_ on: Bool) throws(ZMQError) {
        try setOption(ZMQ_ROUTER_MANDATORY, on ? 1 : 0)
    }

    // MARK: Heartbeats (ZMTP PING/PONG)

    /// Sends a ZMTP PING every `interval` ms; a peer silent for `timeout` ms is disconnected,
    /// and `ttl` ms is how long the remote peer waits for us.
    public func setHeartbeat(intervalMilliseconds: Int32, timeoutMilliseconds: Int32, ttlMilliseconds: Int32? = nil) throws(ZMQError) {
        try setOption(ZMQ_HEARTBEAT_IVL, intervalMilliseconds)
        try setOption(ZMQ_HEARTBEAT_TIMEOUT, timeoutMilliseconds)
        if let ttlMilliseconds { try setOption(ZMQ_HEARTBEAT_TTL, ttlMilliseconds) }
    }

    // MARK: CURVE security

    /// Makes this socket a CURVE server with its secret key (Z85, 40 characters).
    public func makeCurveServer(secretKey: String) throws(ZMQError) {
        try setOption(ZMQ_CURVE_SERVER, 1)
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: Array(secretKey.utf8))
    }

    /// Makes this socket a CURVE client of the server whose public key is `serverKey`.
    public func makeCurveClient(serverKey: String, keyPair: CurveKeyPair) throws(ZMQError) {
        try setOption(ZMQ_CURVE_SERVERKEY, bytes: Array(serverKey.utf8))
        try setOption(ZMQ_CURVE_PUBLICKEY, bytes: Array(keyPair.publicKey.utf8))
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: Array(keyPair.secretKey.utf8))
    }

    /// Sets the ZAP domain used when authenticating peers, and makes the domain binding: with no
    /// ZAP handler bound (it was never started, or its thread ended) every client is refused,
    /// where libzmq would otherwise accept any client key (`ZMQ_ZAP_ENFORCE_DOMAIN`).
    public func setZAPDomain(_ domain: String) throws(ZMQError) {
        try setOption(ZMQ_ZAP_DOMAIN, bytes: Array(domain.utf8))
        try setOption(Socket.zapEnforceDomain, 1)
    }

    /// `ZMQ_ZAP_ENFORCE_DOMAIN`: in zmq.h's draft section, so not imported, but accepted by
    /// every libzmq since 4.2.2.
    private static let zapEnforceDomain: Int32 = 93
}
