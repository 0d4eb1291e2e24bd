import CZeroMQ

/// libzmq's built-in forwarder (`zmq_proxy_steerable`).
public enum Proxy {
    /// Forwards messages between `frontend` and `backend` in both directions until the
    /// `control` socket receives `TERMINATE` (returns normally) or the context shuts down
    /// (throws ``ZMQError/terminated``). For an XSUB frontend and an XPUB backend, data flows
    /// from the frontend to the backend and subscriptions the other way. All three sockets must
    /// belong to the calling thread; the caller's peer of `control` (a PAIR connected over
    /// inproc) sends `PAUSE`, `RESUME`, `TERMINATE` or `STATISTICS`.
    public static func run(frontend: Socket, backend: Socket, control: Socket?) throws(ZMQError) {
        while true {
            let rc = zmq_proxy_steerable(frontend.handle, backend.handle, nil, control?.handle)
            if rc == 0 { return }
            let error = ZMQError.last
            if error.code == EINTR { continue }
            throw error
        }
    }
}

/// The counters a steerable proxy returns to `STATISTICS`: messages and bytes each way.
public struct ProxyStatistics: Sendable, Equatable {
    public var frontendMessagesIn: UInt64 = 0
    public var frontendBytesIn: UInt64 = 0
    public var frontendMessagesOut: UInt64 = 0
    public var frontendBytesOut: UInt64 = 0
    public var backendMessagesIn: UInt64 = 0
    public var backendBytesIn: UInt64 = 0
    public var backendMessagesOut: UInt64 = 0
    public var backendBytesOut: UInt64 = 0

    public init() {}

    /// Parses the eight 8-byte frames of a `STATISTICS` reply (native byte order).
    public init?(frames: [[UInt8]]) {
        guard frames.count == 8, frames.allSatisfy({ $0.count == 8 }) else { return nil }
        let values = frames.map { frame in frame.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } }
        frontendMessagesIn = values[0]
        frontendBytesIn = values[1]
        frontendMessagesOut = values[2]
        frontendBytesOut = values[3]
        backendMessagesIn = values[4]
        backendBytesIn = values[5]
        backendMessagesOut = values[6]
        backendBytesOut = values[7]
    }
}
