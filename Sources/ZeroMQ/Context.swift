import CZeroMQ

/// A libzmq context. Thread-safe: share one per process and create sockets from it.
///
/// Call ``shutdown()`` from any thread to make blocking calls on every socket of the context fail
/// with ``ZMQError/terminated``, so worker threads can close their sockets and finish.
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    /// Creates a context with `ioThreads` background I/O threads.
    public init(ioThreads: Int = 1) throws(ZMQError) {
        guard let ctx = zmq_ctx_new() else { throw ZMQError.last }
        handle = ctx
        if zmq_ctx_set(ctx, ZMQ_IO_THREADS, Int32(ioThreads)) != 0 {
            let error = ZMQError.last
            zmq_ctx_term(ctx)
            throw error
        }
    }

    /// Makes every blocking operation on this context's sockets fail with ``ZMQError/terminated``.
    public func shutdown() {
        zmq_ctx_shutdown(handle)
    }

    deinit {
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    /// The libzmq version this process runs with, e.g. `4.3.4`.
    public static var version: String {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }

    /// Whether libzmq was built with a capability such as `"curve"` or `"ipc"`.
    public static func has(_ capability: String) -> Bool {
        zmq_has(capability) != 0
    }
}
