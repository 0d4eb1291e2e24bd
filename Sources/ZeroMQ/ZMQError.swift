import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error reported by libzmq, carrying its `errno` and libzmq's own message.
public struct ZMQError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The `errno` value libzmq reported.
    public let code: Int32

    public init(code: Int32) { self.code = code }

    /// The error libzmq reports for the last failed call on this thread.
    public static var last: ZMQError { ZMQError(code: zmq_errno()) }

    /// libzmq's text for this error (`zmq_strerror`).
    public var message: String { String(cString: zmq_strerror(code)) }

    public var description: String { "zmq error \(code): \(message)" }

    /// Not possible now: non-blocking call, timeout, or a full queue with `XPUB_NODROP`.
    public static let again = ZMQError(code: EAGAIN)
    /// The context is shutting down; the socket should be closed.
    public static let terminated = ZMQError(code: czmq_eterm())
    /// The socket is in the wrong state for this call (REQ/REP lockstep).
    public static let wrongState = ZMQError(code: czmq_efsm())
    /// An argument was invalid (bad endpoint, option, or value).
    public static let invalid = ZMQError(code: EINVAL)
}

/// Runs a libzmq call that returns -1 on failure, retrying when a signal interrupted it.
@inline(__always)
func retryingEINTR(_ call: () -> Int32) throws(ZMQError) -> Int32 {
    while true {
        let rc = call()
        if rc >= 0 { return rc }
        let err = zmq_errno()
        if err == EINTR { continue }
        throw ZMQError(code: err)
    }
}
