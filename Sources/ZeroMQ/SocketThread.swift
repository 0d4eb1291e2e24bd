import Foundation
import Synchronization

/// A socket served on a thread of its own, the way the control server and the ZAP handler run:
/// `open` creates and binds the socket on that thread (its error is thrown from `init`), then
/// `serve` runs there, checking `isStopping` at least every 100 ms or so, until ``stop()``.
public final class SocketThread<Opened: Sendable>: Sendable {
    /// What `open` returned with the socket (e.g. the endpoint actually bound).
    public let opened: Opened
    private let stopping = StopFlag()
    private let finished = DispatchSemaphore(value: 0)

    /// Starts the thread and returns once `open` has succeeded, or throws its error.
    public init(
        name: String, open: @escaping @Sendable () throws -> (Socket, Opened),
        serve: @escaping @Sendable (Socket, _ isStopping: () -> Bool) -> Void
    ) throws {
        let ready = Mutex<Result<Opened, any Error>?>(nil)
        let started = DispatchSemaphore(value: 0)
        let (stopping, finished) = (stopping, finished)
        let thread = Thread {
            defer { finished.signal() }
            let socket: Socket
            do {
                let (opened, value) = try open()
                socket = opened
                ready.withLock { $0 = .success(value) }
                started.signal()
            } catch {
                ready.withLock { $0 = .failure(error) }
                started.signal()
                return
            }
            serve(socket) { stopping.isSet }
        }
        thread.name = name
        thread.start()
        started.wait()
        opened = try ready.withLock { $0! }.get()
    }

    deinit { stop() }

    /// Stops serving and closes the socket (within a poll interval). Idempotent.
    public func stop() {
        if stopping.set() { finished.wait() }
    }
}

/// A flag one thread sets and another polls, to know when to stop.
public final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public var isSet: Bool { flag.load(ordering: .relaxed) }

    /// Sets the flag; true if this call set it (false if it was set already).
    @discardableResult
    public func set() -> Bool { !flag.exchange(true, ordering: .relaxed) }
}
