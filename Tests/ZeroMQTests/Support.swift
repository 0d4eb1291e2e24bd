import Foundation
import Synchronization
import ZeroMQ

/// A name no other test (in this process or another) uses: pid + a process-wide counter.
func uniqueName(_ label: String) -> String {
    "\(label)-\(getpid())-\(nameCounter.add(1, ordering: .relaxed).newValue)"
}

private let nameCounter = Atomic<Int>(0)

/// An inproc endpoint unique to one test.
func uniqueInproc(_ label: String) -> String { "inproc://" + uniqueName(label) }

/// An ipc endpoint unique to one test, under /tmp (short enough for sun_path).
func uniqueIPC(_ label: String) -> (endpoint: String, path: String) {
    let path = "/tmp/tb-" + uniqueName(label) + ".sock"
    return ("ipc://" + path, path)
}

/// Monotonic milliseconds, for deadlines and elapsed-time checks.
func nowMilliseconds() -> Int64 {
    Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000)
}

/// Receives one frame waiting at most `milliseconds`; nil when nothing came in time.
func receiveBytes(_ socket: Socket, within milliseconds: Int32) throws -> [UInt8]? {
    try socket.setReceiveTimeout(milliseconds: milliseconds)
    return try socket.receiveBytes()
}

/// Receives one frame as a string waiting at most `milliseconds`.
func receiveString(_ socket: Socket, within milliseconds: Int32) throws -> String? {
    try socket.setReceiveTimeout(milliseconds: milliseconds)
    return try socket.receiveString()
}

/// Receives one multipart message waiting at most `milliseconds` for its first frame.
func receiveMultipart(_ socket: Socket, within milliseconds: Int32) throws -> [[UInt8]]? {
    try socket.setReceiveTimeout(milliseconds: milliseconds)
    return try socket.receiveMultipart()
}

/// PUB/SUB "slow joiner": sends `probe` every 10 ms until `subscriber` receives a frame (which
/// is returned), or nil after `milliseconds`. Both sockets must belong to the calling thread.
func sendUntilReceived(
    _ publisher: Socket, _ subscriber: Socket, probe: [UInt8], within milliseconds: Int64 = 3000
) throws -> [UInt8]? {
    let deadline = nowMilliseconds() + milliseconds
    while nowMilliseconds() < deadline {
        try publisher.send(probe, flags: .dontWait)
        if let frame = try receiveBytes(subscriber, within: 10) { return frame }
    }
    return nil
}

/// A value set by one thread and read by another.
final class Box<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
    func update<R: Sendable>(_ body: (inout Value) -> R) -> R { storage.withLock { body(&$0) } }
}

/// Runs `body` on a new Foundation thread; `wait(seconds:)` joins it with a time limit.
final class TestThread: Sendable {
    private let done = DispatchSemaphore(value: 0)

    init(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let done = self.done
        let thread = Thread {
            body()
            done.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Whether the thread finished within `seconds`.
    func wait(seconds: Double) -> Bool {
        done.wait(timeout: .now() + seconds) == .success
    }
}
