import CZeroMQ

/// Waits for several sockets and file descriptors at once (`zmq_poll`).
///
/// Like a socket, a poller belongs to the one thread that owns its sockets.
public final class Poller {
    private var items: [zmq_pollitem_t] = []
    private var sockets: [Socket?] = []

    public init() {}

    /// Watches `socket` for incoming messages; returns the item's index.
    @discardableResult
    public func add(_ socket: Socket) -> Int {
        items.append(zmq_pollitem_t(socket: socket.handle, fd: -1, events: Int16(ZMQ_POLLIN), revents: 0))
        sockets.append(socket)
        return items.count - 1
    }

    /// Watches a plain file descriptor (a pipe, an eventfd) for readability; returns its index.
    @discardableResult
    public func add(fileDescriptor: Int32) -> Int {
        items.append(zmq_pollitem_t(socket: nil, fd: fileDescriptor, events: Int16(ZMQ_POLLIN), revents: 0))
        sockets.append(nil)
        return items.count - 1
    }

    /// Waits up to `timeoutMilliseconds` (-1 forever) for any item to become readable and returns
    /// how many are. A signal interrupting the wait counts as a timeout.
    @discardableResult
    public func poll(timeoutMilliseconds: Int) throws(ZMQError) -> Int {
        let rc = items.withUnsafeMutableBufferPointer {
            zmq_poll($0.baseAddress, Int32($0.count), timeoutMilliseconds)
        }
        if rc >= 0 { return Int(rc) }
        let error = ZMQError.last
        if error.code == EINTR { return 0 }
        throw error
    }

    /// Whether the item at `index` was readable after the last ``poll(timeoutMilliseconds:)``.
    public func isReadable(_ index: Int) -> Bool {
        items[index].revents & Int16(ZMQ_POLLIN) != 0
    }
}
